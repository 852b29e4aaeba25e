"""What the tests share besides fixtures (conftest.py holds those): paths, tiny configurations, a shell helper,
and the train stage run as a subprocess."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


TINY_TRAIN = {"seed": 1, "boundary": False, "layers": 2, "filters": [8, 8], "widths": [5, 3], "bias": True,
              "pool": False, "bias_std": 0.0, "dropout": 0.0, "weight_decay": 0.0, "batch_size": 50, "steps": 300,
              "momentum": 0.9, "lr": {"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 100},
              "sampling": "balanced", "logit_adjust": 0.0, "shuffle": True, "eval_every": 100,
              "train_eval_size": 500, "dtype": "float64", "impl": "fast"}


def tiny_train(**over):
    """A complete train section of two 8-filter layers and a few hundred steps, with `over` on top."""
    return {**TINY_TRAIN, **over}


TINY = {
    "gradcheck": {"batch": 3, "max_entries": 15,
                  "configs": {"study": {"filters": [4, 4]}, "deep_bias_dropout": {"filters": [3, 3, 3]}}},
    "train": {"layers": 2, "filters": [8, 8], "widths": [5, 3], "steps": 200, "eval_every": 100,
              "train_eval_size": 300},
    "evaluate": {"bootstrap": 100},
    "lr_range": {"steps": 60},
    "bench": {"steps": 5, "reference_steps": 1, "repeats": 1},
    "search": {"n_trials": 4, "eval_every": 20, "min_steps": 20,
               "confirm": {"top": 1, "seeds": [1], "min_lead": 0.0, "ensemble": 2},
               "space": {"layers": [1, 2], "filters": {"low": 4, "high": 8, "step": 2},
                         "deep": {"filters": [{"low": 4, "high": 8, "step": 2}], "widths": [{"low": 2, "high": 5}]}}},
    "baseline": {"max_iter": 300},
    "study": {"steps": 40, "seeds": [1, 2],
              "configs": {"t7_depth5": {"filters": [4]},
                          "t7_depth3": {"filters": [4, 4, 4]}}},
}


def merge(base, over):
    return {k: merge(base[k], over[k]) if isinstance(over.get(k), dict) and k in base and k != "lr"
            else over.get(k, base[k]) for k in base}


def sh(cmd, cwd, env, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r



FAULT_TRAIN = tiny_train(seed=3, dropout=0.1, steps=150, eval_every=50, train_eval_size=200, dtype="float32",
                         lr={"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 50})


PREDICT = {"coverage": 0.9, "method": "lac", "prior": "balanced"}


def set_train(path, **over):
    (path / "params.yaml").write_text(yaml.safe_dump({"train": {**FAULT_TRAIN, **over}, "predict": PREDICT}))


def train_cmd():
    return [sys.executable, str(ROOT / "stages" / "train.py"), "data/encoded", "models", "reports/train"]


def run_train(path, env, **over):
    set_train(path, **over)
    return subprocess.run(train_cmd(), cwd=path, env=env, capture_output=True, text=True, timeout=300)


def runs(path):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path / 'mlflow.db'}")
    return client.search_runs([client.get_experiment_by_name("namecnn").experiment_id])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method, url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@contextlib.contextmanager
def server(cmd, cwd, env, ready_url, wait=120):
    """Start cmd in its own process group, wait until ready_url answers, and always stop the whole group."""
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.time() + wait
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"{cmd[:3]} exited with {proc.returncode}: {log.read()[-2000:]}")
                try:
                    http("GET", ready_url, timeout=2)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise AssertionError(f"{ready_url} not ready after {wait} s") from None
                    time.sleep(0.5)
            yield proc
        finally:
            stop_group(proc)


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_group(proc, grace=20):
    """SIGTERM the process group, SIGKILL what is left after `grace` seconds; fail if anything survives."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.time() + wait
        while time.time() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
            if proc.poll() is not None and not group_alive(proc.pid):
                return
    pytest.fail("a server process outlived its test")


def mlflow_cli():
    return str(Path(sys.executable).parent / "mlflow")
