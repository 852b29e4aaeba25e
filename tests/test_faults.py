"""Faults: interrupted, killed or diverging training, a broken, full or unreachable tracking store, bad params
reaching the stage; each ends in one line, an honest run status and no half-written or registered model."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml

from helpers import FAULT_TRAIN as TRAIN
from helpers import PREDICT, ROOT, run_train, runs, set_train, train_cmd


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_leaves_no_partial_model_and_a_killed_run(work, sig):
    path, env = work
    set_train(path, steps=10_000_000)
    proc = subprocess.Popen(train_cmd(), cwd=path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()                          # printed once the MLflow run has started
    assert "MLflow run" in line, proc.stderr.read()
    time.sleep(1.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "error: interrupted"
    assert "Traceback" not in err
    assert not (path / "models").exists() or not any((path / "models").iterdir())
    [run] = runs(path)
    assert run.info.status == "KILLED"
    again = run_train(path, env)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (path / "models").iterdir()) == ["model.json", "model.npz"]
    assert sorted(r.info.status for r in runs(path)) == ["FINISHED", "KILLED"]


def running_runs(db):
    """RUNNING runs in the stage's store, read with sqlite3 (an MlflowClient here would race the stage's
    creation of the tables)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return con.execute("select count(*) from runs where status = 'RUNNING'").fetchone()[0]
    except sqlite3.Error:
        return 0


def study_runs(path):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path / 'mlflow.db'}")
    found = client.get_experiment_by_name("study")
    return client.search_runs([found.experiment_id]) if found else []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c to the process group", "SIGTERM to the stage alone"])
def test_interrupted_parallel_study_ends_every_run_killed(work, raw_dir, how):
    """The study's worker processes stop between steps, end their runs KILLED and start no further training;
    the stage says `error: interrupted` in one line, exits 130 and writes no result."""
    path, env = work
    base = {k: v for k, v in TRAIN.items() if k not in ("steps", "eval_every")}
    study = {"steps": 10_000_000, "seeds": [1, 2], "jobs": 2, "base": base, "configs": {"a": {}, "b": {}}}
    (path / "params.yaml").write_text(yaml.safe_dump({"study": study, "train": TRAIN}))
    cmd = [sys.executable, str(ROOT / "stages" / "study.py"), "data/encoded", str(raw_dir / "celebrity_names.txt"),
           "out", "study.json"]
    proc = subprocess.Popen(cmd, cwd=path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while running_runs(path / "mlflow.db") < 2 and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)
        if how.startswith("ctrl-c"):
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:                                  # a failed test must not leave 10^7-step trainings behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "error: interrupted", err
    assert "Traceback" not in err and err.count("error:") == 1
    assert sorted(r.info.status for r in study_runs(path)) == ["KILLED", "KILLED"]      # no third training began
    assert not (path / "out").exists() and not (path / "study.json").exists()


@pytest.mark.slow
def test_diverging_training_stops_with_a_clear_message_and_a_failed_run(work):
    path, env = work
    r = run_train(path, env, lr={"kind": "constant", "value": 1e5})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: train: the loss diverged at step")
    assert [x.info.status for x in runs(path)] == ["FAILED"]
    assert not (path / "models").exists()


@pytest.mark.slow
def test_same_params_give_identical_weights_and_metrics(work, tmp_path_factory, encoded):
    path, env = work
    other = tmp_path_factory.mktemp("again")
    (other / ".dvc").mkdir()
    shutil.copytree(encoded, other / "data" / "encoded")
    for p in (path, other):
        assert run_train(p, env).returncode == 0
    assert (path / "models/model.npz").read_bytes() == (other / "models/model.npz").read_bytes()
    assert (path / "reports/train/history.csv").read_text() == (other / "reports/train/history.csv").read_text()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]                       # closed again once the socket is


@pytest.mark.slow
def test_unreachable_tracking_server_fails_fast_and_clearly(work):
    path, env = work
    uri = f"http://127.0.0.1:{closed_port()}"
    start = time.time()
    r = run_train(path, {**env, "MLFLOW_TRACKING_URI": uri})
    assert time.time() - start < 30
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: MLflow tracking store {uri}:")
    assert not (path / "models").exists()


# --- the tracking store breaks, the process dies, a signal lands while the model is logged ------------------

def run_train_patched(path, env, patch, **over):
    """The train stage with `patch` (Python source) run first in its process: how a fault is injected."""
    set_train(path, **over)
    code = (f"{patch}\nimport runpy, sys\nsys.argv = {train_cmd()[1:]!r}\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], cwd=path, env=env, capture_output=True, text=True, timeout=300)


def one_line_error(r, start):
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(start), r.stderr
    return r.stderr


def registered_versions(path):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path / 'mlflow.db'}")
    return [(v.version, client.get_run(v.run_id).info.status) for v in client.search_model_versions("name='namecnn'")]


DISK_FULL = '''
import sqlite3, sqlalchemy.exc, mlflow
from mlflow import MlflowClient

def full(*a, **k):
    raise sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))

real, calls = mlflow.log_metrics, []
def log_metrics(*a, **k):
    calls.append(1)
    return full() if len(calls) > 1 else real(*a, **k)
mlflow.log_metrics = log_metrics
MlflowClient.set_terminated = full
'''


@pytest.mark.slow
def test_full_store_during_training_is_one_line_and_the_next_run_marks_the_run_failed(work):
    """The store fills up between two evaluations; even ending the run FAILED fails. One line, exit 1, no model;
    the run stays RUNNING until the next training on this host finds its process gone and marks it FAILED."""
    path, env = work
    r = run_train_patched(path, env, DISK_FULL, steps=300, eval_every=100)
    err = one_line_error(r, f"error: MLflow tracking store sqlite:///{path / 'mlflow.db'}: ")
    [run] = runs(path)
    assert "database or disk is full" in err and f"run {run.info.run_id} could not be marked FAILED" in err
    assert run.info.status == "RUNNING" and not (path / "models").exists()
    again = run_train(path, env)
    assert again.returncode == 0, again.stderr
    note = f"note: MLflow run {run.info.run_id} was left RUNNING by a process that is gone; marked FAILED"
    assert note in again.stderr
    assert sorted(x.info.status for x in runs(path)) == ["FAILED", "FINISHED"]


@contextlib.contextmanager
def tmpfs(where, size="2m"):
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()[:80]}); the injected test covers the path")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.slow
def test_a_really_full_disk_during_training(work):
    """Issue 13's reproduction: the store on a 2 MB tmpfs, filled two seconds after the run starts."""
    path, env = work
    with tmpfs(path / "small") as small:
        env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{small / 'm.db'}"}
        set_train(path, steps=10_000_000, eval_every=200)
        proc = subprocess.Popen(train_cmd(), cwd=path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            assert "MLflow run" in proc.stdout.readline()
            time.sleep(2)
            subprocess.run(["dd", "if=/dev/zero", f"of={small / 'fill'}", "bs=64k"], capture_output=True)
            _, err = proc.communicate(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        assert proc.returncode == 1 and "Traceback" not in err and err.count("\n") == 1, err[-3000:]
        assert err.startswith(f"error: MLflow tracking store sqlite:///{small / 'm.db'}: database or disk is full")
        (small / "fill").unlink()
        again = run_train(path, env, steps=100, eval_every=50)
        assert again.returncode == 0, again.stderr
        import mlflow

        client = mlflow.MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
        experiment_id = client.get_experiment_by_name("namecnn").experiment_id
        statuses = sorted(x.info.status for x in client.search_runs([experiment_id]))
        assert statuses == ["FAILED", "FINISHED"]


@pytest.mark.slow
def test_a_full_disk_before_the_run_starts(work):
    path, env = work
    with tmpfs(path / "small") as small:
        subprocess.run(["dd", "if=/dev/zero", f"of={small / 'fill'}", "bs=64k"], capture_output=True)
        env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{small / 'm.db'}"}
        one_line_error(run_train(path, env), f"error: MLflow tracking store sqlite:///{small / 'm.db'}: ")
        assert not (path / "models").exists()


def make_store(uri, env):
    """An MLflow SQLite store with its tables, made by a short process (not a training)."""
    code = f"import mlflow; mlflow.MlflowClient({uri!r}).search_experiments()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=120)


@pytest.mark.slow
def test_a_truncated_store_is_one_line(work):
    path, env = work
    make_store(f"sqlite:///{path / 'mlflow.db'}", env)
    os.truncate(path / "mlflow.db", 1000)
    err = one_line_error(run_train(path, env), f"error: MLflow tracking store sqlite:///{path / 'mlflow.db'}: ")
    assert "not a database" in err or "malformed" in err


READ_ONLY = '''
import sqlite3, sqlalchemy.exc, mlflow
def start_run(*a, **k):
    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    raise sqlalchemy.exc.OperationalError("INSERT", {}, readonly)
mlflow.start_run = start_run
'''


@pytest.mark.slow
def test_a_read_only_store_is_one_line(work):
    path, env = work
    err = one_line_error(run_train_patched(path, env, READ_ONLY),
                         f"error: MLflow tracking store sqlite:///{path / 'mlflow.db'}: ")
    assert err.endswith("attempt to write a readonly database\n")


@pytest.mark.slow
def test_a_read_only_mount_is_one_line(work):
    path, env = work
    store = path / "store"
    store.mkdir()
    env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'm.db'}"}
    make_store(env["MLFLOW_TRACKING_URI"], env)
    r = subprocess.run(["mount", "--bind", "-o", "ro", str(store), str(store)], capture_output=True)
    if r.returncode:
        pytest.skip("cannot bind-mount here; test_a_read_only_store_is_one_line covers the path")
    try:
        one_line_error(run_train(path, env), f"error: MLflow tracking store sqlite:///{store / 'm.db'}: ")
    finally:
        subprocess.run(["umount", "-l", str(store)], capture_output=True)


CTRL_C_WHILE = '''
import os, signal
from namecnn.serving import pyfunc
from namecnn.tracking import registry
import mlflow
where = {where!r}
if where == "logging":
    real = pyfunc.log_model
    def log_model(*a, **k):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*a, **k)
    pyfunc.log_model = log_model
else:
    real = mlflow.register_model
    def register_model(*a, **k):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*a, **k)
    mlflow.register_model = register_model
'''


@pytest.mark.slow
def test_ctrl_c_while_the_model_is_logged_registers_nothing(work):
    path, env = work
    r = run_train_patched(path, env, CTRL_C_WHILE.format(where="logging"), steps=50, eval_every=50)
    assert r.returncode == 130 and r.stderr.splitlines()[-1] == "error: interrupted" and "Traceback" not in r.stderr
    assert [x.info.status for x in runs(path)] == ["KILLED"]
    assert registered_versions(path) == []


@pytest.mark.slow
def test_ctrl_c_while_registering_finishes_the_version_then_says_so(work):
    path, env = work
    r = run_train_patched(path, env, CTRL_C_WHILE.format(where="registering"), steps=50, eval_every=50)
    assert r.returncode == 130 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-2:] == ["note: interrupted while registering; version 1 of namecnn was completed "
                                          "first", "error: interrupted"]
    assert [x.info.status for x in runs(path)] == ["FINISHED"]
    assert registered_versions(path) == [(1, "FINISHED")]


@pytest.mark.slow
def test_a_killed_training_is_marked_failed_by_the_next_one(work):
    path, env = work
    set_train(path, steps=10_000_000)
    proc = subprocess.Popen(train_cmd(), cwd=path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "MLflow run" in proc.stdout.readline()
        time.sleep(1)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    [dead] = runs(path)
    assert dead.info.status == "RUNNING" and dead.data.tags["namecnn.pid"] == str(proc.pid)
    again = run_train(path, env, steps=50, eval_every=50)
    assert again.returncode == 0 and f"note: MLflow run {dead.info.run_id} was left RUNNING" in again.stderr
    after = {x.info.run_id: x for x in runs(path)}
    assert after[dead.info.run_id].info.status == "FAILED"
    assert "ended without ending this run" in after[dead.info.run_id].data.tags["namecnn.ended"]
    assert registered_versions(path) == [(1, "FINISHED")]


@pytest.mark.slow
@pytest.mark.parametrize("over,start", [
    ({"logit_adjust": ".inf"}, "error: train.logit_adjust: must be a finite number, got inf"),
    ({"dropout": ".nan"}, "error: train.dropout: must be a finite number, got nan"),
    ({"momentum": ".nan"}, "error: train.momentum: must be a finite number, got nan"),
    ({"layers": "1", "filters": "[100000000]", "widths": "[3]"}, "error: train.filters: this network needs about"),
    ({"seed": "1\n  seed: 5"}, "error: params.yaml:"),
])
def test_bad_params_stop_the_stage_before_any_run(work, over, start):
    """Checked before MLflow is touched: no run, no model, no registered version."""
    path, env = work
    lines = ["train:"] + [f"  {k}: {over.get(k, json.dumps(v))}" for k, v in TRAIN.items()]
    lines += ["predict:"] + [f"  {k}: {v}" for k, v in PREDICT.items()]
    (path / "params.yaml").write_text("\n".join(lines) + "\n")
    r = subprocess.run(train_cmd(), cwd=path, env=env, capture_output=True, text=True, timeout=120)
    err = one_line_error(r, start)
    assert "given twice" in err if "seed" in over else True
    assert not (path / "mlflow.db").exists() and not (path / "models").exists()
