"""Bad input and faults: interrupted or diverging training, broken models, an unreachable tracking server,
and what `namecnn predict` does with real-world spellings."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import ROOT, tiny_train
from namecnn import predict

TRAIN = tiny_train(seed=3, dropout=0.1, steps=150, lr={"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 50},
                   eval_every=50, train_eval_size=200, dtype="float32")


@pytest.fixture
def work(tmp_path, encoded):
    """A project folder: .dvc/, params.yaml with a small train section, the encoded data."""
    (tmp_path / ".dvc").mkdir()
    shutil.copytree(encoded, tmp_path / "data" / "encoded")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    return tmp_path, env


def set_train(path, **over):
    (path / "params.yaml").write_text(yaml.safe_dump({"train": {**TRAIN, **over}}))


def train_cmd():
    return [sys.executable, str(ROOT / "stages" / "train.py"), "data/encoded", "models", "reports/train"]


def run_train(path, env, **over):
    set_train(path, **over)
    return subprocess.run(train_cmd(), cwd=path, env=env, capture_output=True, text=True, timeout=300)


def runs(path):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path / 'mlflow.db'}")
    return client.search_runs([client.get_experiment_by_name("namecnn").experiment_id])


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


@pytest.mark.parametrize("how", ["ctrl-c to the process group", "SIGTERM to the stage alone"])
def test_interrupted_parallel_study_ends_every_run_killed(work, raw_dir, how):
    """The study's worker processes stop between steps, end their runs KILLED and start no further training;
    the stage says `error: interrupted` in one line, exits 130 and writes no result."""
    path, env = work
    base = {k: v for k, v in TRAIN.items() if k not in ("steps", "eval_every")}
    study = {"steps": 10_000_000, "seeds": [1, 2], "jobs": 2, "base": base, "configs": {"a": {}, "b": {}}}
    (path / "params.yaml").write_text(yaml.safe_dump({"study": study}))
    cmd = [sys.executable, str(ROOT / "stages" / "study.py"), "data/encoded", str(raw_dir / "celebrity_names.txt"),
           "out"]
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
    assert not (path / "out").exists()


def test_diverging_training_stops_with_a_clear_message_and_a_failed_run(work):
    path, env = work
    r = run_train(path, env, lr={"kind": "constant", "value": 1e5})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: train: the loss diverged at step")
    assert [x.info.status for x in runs(path)] == ["FAILED"]
    assert not (path / "models").exists()


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


def test_unreachable_tracking_server_fails_fast_and_clearly(work):
    path, env = work
    uri = f"http://127.0.0.1:{closed_port()}"
    start = time.time()
    r = run_train(path, {**env, "MLFLOW_TRACKING_URI": uri})
    assert time.time() - start < 30
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: MLflow tracking store {uri}:")
    assert not (path / "models").exists()


# --- namecnn predict -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory, encoded):
    path = tmp_path_factory.mktemp("trained")
    (path / ".dvc").mkdir()
    shutil.copytree(encoded, path / "data" / "encoded")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    assert run_train(path, env, steps=400).returncode == 0
    return path, env


def cli(args, cwd, env, stdin=None):
    return subprocess.run([sys.executable, "-m", "namecnn.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("raw,folded", [("Müller", "muller"), ("Dvořák", "dvorak"), ("Ødegaard", "odegaard"),
                                        ("  McGregor ", "mcgregor"), ("Straße", "strasse"), ("Łukasz", "lukasz"),
                                        ("O’Brien", "o'brien"), ("Ñúñez", "nunez")])
def test_fold(raw, folded):
    assert predict.fold(raw) == folded


def test_predict_json_in_input_order_with_top_k(trained):
    path, env = trained
    r = cli(["predict", "Müller", "-", "Ødegaard", "--top-k", "4", "--json"], path, env, stdin="nguyen\nyamamoto\n")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["Müller", "nguyen", "yamamoto", "Ødegaard"]
    for x in rows:
        assert len(x["top"]) == 4 and x["top"][0] == {"language": x["language"], "probability": x["probability"]}
        probs = [t["probability"] for t in x["top"]]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6


def test_predict_folded_names_equal_their_ascii_spelling(trained):
    path, env = trained
    a = json.loads(cli(["predict", "Dvořák", "--json"], path, env).stdout)[0]
    b = json.loads(cli(["predict", "dvorak", "--json"], path, env).stdout)[0]
    assert a["top"] == b["top"]


def test_predict_warns_on_foreign_characters_and_long_names(trained):
    path, env = trained
    r = cli(["predict", "ab😀c", "x" * 30], path, env)
    assert r.returncode == 0
    assert "warning: name 'ab😀c': character(s) '😀' not in the model's alphabet, dropped" in r.stderr
    assert "warning: name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx': 30 characters, cut to the model's n_len=19" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["   "], "error: name '   ': nothing left to classify"),
    (["😀"], "error: name '😀': nothing left to classify"),
    (["cruz", "--top-k", "0"], "error: --top-k must be >= 1"),
    (["cruz", "--model", "nowhere"], "error: nowhere/model.json: model file not found"),
])
def test_predict_bad_input_is_one_line(trained, args, message):
    path, env = trained
    r = cli(["predict", *args], path, env)
    assert r.returncode == 1 and r.stderr.strip() == r.stderr.strip().splitlines()[0]
    assert r.stderr.startswith(message)


@pytest.mark.parametrize("damage,message", [
    (lambda m: (m / "model.npz").write_bytes(b"not a zip"), "model.npz: corrupt or unreadable weights"),
    (lambda m: (m / "model.npz").unlink(), "model.npz: model file not found"),
    (lambda m: (m / "model.json").write_text("{"), "model.json: not a namecnn model description"),
    (lambda m: np.savez(m / "model.npz", W=np.zeros(3)), "model.npz: weights do not match the architecture"),
])
def test_predict_on_a_broken_model_fails_clearly(trained, tmp_path, damage, message):
    path, env = trained
    broken = tmp_path / "broken"
    shutil.copytree(path / "models", broken)
    damage(broken)
    r = cli(["predict", "cruz", "--model", str(broken)], path, env)
    assert r.returncode == 1 and "Traceback" not in r.stderr and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_predict_from_mlflow_uris(trained):
    path, env = trained
    run_id = json.loads((path / "reports/train/run.json").read_text())["run_id"]
    local = json.loads(cli(["predict", "cruz", "--json"], path, env).stdout)
    for uri in (f"runs:/{run_id}/model", "models:/namecnn/1"):
        r = cli(["predict", "cruz", "--json", "--model-uri", uri], path, env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == local
    r = cli(["predict", "cruz", "--model-uri", "models:/namecnn@nobody"], path, env)
    assert r.returncode == 1 and r.stderr.startswith("error: --model-uri models:/namecnn@nobody:")
