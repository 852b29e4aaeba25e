"""The trained model behind `mlflow models serve` and the tracking store behind `mlflow server`, over HTTP."""
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


@pytest.mark.slow
def test_champion_model_served_over_http(repo, repro):
    dst, env = repo
    env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{dst / 'mlflow.db'}"}
    port = free_port()
    cmd = [mlflow_cli(), "models", "serve", "-m", "models:/namecnn@champion", "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port)]
    with server(cmd, dst, env, f"http://127.0.0.1:{port}/ping"):
        status, out = http("POST", f"http://127.0.0.1:{port}/invocations", {"inputs": ["cruz", "mcgregor"]})
        code, mixed = http("POST", f"http://127.0.0.1:{port}/invocations", {"inputs": ["cruz", "", "😀", "mcgregor"]})
    assert status == 200 and code == 200                 # a bad name fails its own row, not the request
    rows = out["predictions"]
    assert [r["name"] for r in rows] == ["cruz", "mcgregor"]
    for r in rows:
        p = {k: v for k, v in r.items() if k not in ("name", "language", "probability", "error", "set")}
        assert r["probability"] == max(p.values()) and abs(sum(p.values()) - 1) < 1e-4 and r["error"] == ""
        assert r["set"].split(" | ")[0] == r["language"]            # the prediction set, most probable first
        assert r["language"] in r and r[r["language"]] == r["probability"]
    mixed = mixed["predictions"]
    assert [r["language"] for r in mixed[::3]] == [r["language"] for r in rows]
    for r, name in zip(mixed[1:3], ("", "😀"), strict=True):
        assert r["language"] == "" and f"name {name!r}: nothing left to classify after folding" in r["error"]
        assert r["set"] == ""


@pytest.mark.slow
def test_tracking_server_shows_run_metrics_confusion_and_model(repo, repro):
    dst, env = repo
    run_id = json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    port = free_port()
    cmd = [mlflow_cli(), "server", "--backend-store-uri", f"sqlite:///{dst / 'mlflow.db'}", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    with server(cmd, dst, env, f"http://127.0.0.1:{port}/health"):
        _, exp = http("GET", f"{api}/experiments/get-by-name?experiment_name=namecnn")
        _, runs = http("POST", f"{api}/runs/search", {"experiment_ids": [exp["experiment"]["experiment_id"]]})
        _, run = http("GET", f"{api}/runs/get?run_id={run_id}")
        _, files = http("GET", f"{api}/artifacts/list?run_id={run_id}&path=evaluation")
        _, models = http("POST", f"{api}/logged-models/search",
                         {"experiment_ids": [exp["experiment"]["experiment_id"]]})
        _, alias = http("GET", f"{api}/registered-models/alias?name=namecnn&alias=champion")
    assert run_id in {r["info"]["run_id"] for r in runs["runs"]}
    metrics = {m["key"] for m in run["run"]["data"]["metrics"]}
    assert {"val/acc", "val/final_acc", "unseen/acc"} <= metrics and run["run"]["info"]["status"] == "FINISHED"
    assert {"evaluation/confusion.png", "evaluation/confusion.json"} <= {f["path"] for f in files["files"]}
    assert run_id in {m["info"].get("source_run_id") for m in models["models"]}
    assert alias["model_version"]["name"] == "namecnn" and alias["model_version"]["run_id"]
