"""The whole DVC pipeline in a temporary copy of the repository, with tiny settings."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

TINY = {
    "gradcheck": {"batch": 3, "max_entries": 15,
                  "configs": {"study": {"filters": [4, 4]}, "deep_bias_dropout": {"filters": [3, 3, 3]}}},
    "train": {"filters": [8, 8], "steps": 200, "eval_every": 100, "train_eval_size": 300,
              "lr": {"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 50}},
    "evaluate": {"bootstrap": 100},
    "lr_range": {"steps": 60},
    "bench": {"filters": [5, 5], "steps": 5, "reference_steps": 1, "repeats": 1},
    "search": {"n_trials": 3, "steps_per_trial": 60, "eval_every": 30,
               "space": {"filters": {"low": 4, "high": 8, "step": 2}}},
}


def merge(base, over):
    return {k: merge(base[k], over[k]) if isinstance(over.get(k), dict) and k in base and k != "lr"
            else over.get(k, base[k]) for k in base}


def sh(cmd, cwd, env, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


@pytest.fixture(scope="module")
def repo(tmp_path_factory, raw_dir):
    """A git + DVC repository holding the project's files as they are now, tiny params, the raw data."""
    dst = tmp_path_factory.mktemp("pipeline") / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if f.startswith(("reports/", "dvc.lock")) or not (ROOT / f).is_file():
            continue
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    shutil.copytree(raw_dir, dst / "data" / "raw")
    params = yaml.safe_load((dst / "params.yaml").read_text())
    (dst / "params.yaml").write_text(yaml.safe_dump(merge(params, TINY), sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    sh(["git", "init", "-q", "-b", "main"], dst, env)
    sh(["git", "add", "-A"], dst, env)
    sh(["git", "commit", "-qm", "tiny"], dst, env)
    return dst, env


@pytest.fixture(scope="module")
def repro(repo):
    dst, env = repo
    return sh(["dvc", "repro"], dst, env)


def mlflow_client(dst):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{dst / 'mlflow.db'}")


def test_repro_builds_every_output(repo, repro):
    dst, _ = repo
    for path in ("data/encoded/meta.json", "models/model.npz", "models/model.json", "reports/gradcheck.json",
                 "reports/train/history.csv", "reports/metrics.json", "reports/evaluate/confusion.png",
                 "reports/evaluate/confusion.json", "reports/lr_range/suggestion.json", "reports/bench.json",
                 "reports/search/best_params.json", "reports/search/trials.csv", "reports/report.md"):
        assert (dst / path).is_file(), path
    metrics = json.loads((dst / "reports/metrics.json").read_text())
    assert 0 < metrics["val"]["acc"] <= 1 and metrics["unseen"]["n"] == 15
    assert metrics["val"]["acc_ci_low"] <= metrics["val"]["acc"] <= metrics["val"]["acc_ci_high"]
    report = (dst / "reports/report.md").read_text()
    run_id = json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    assert run_id in report and f"{metrics['val']['acc']:.4f}" in report and "mashkov" in report
    best = json.loads((dst / "reports/search/best_params.json").read_text())
    assert best["trials"] >= 3 and best["command"] in report and best["command"].startswith("dvc exp run -S")
    confusion = json.loads((dst / "reports/evaluate/confusion.json").read_text())
    assert len(confusion) == 216 and {"actual", "predicted"} <= set(confusion[0])


def test_mlflow_run_has_metrics_confusion_and_a_loadable_model(repo, repro):
    import mlflow

    dst, _ = repo
    run_id = json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    client = mlflow_client(dst)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["filters"] == "[8, 8]" and run.data.params["lr.kind"] == "cyclic"
    assert [m.step for m in client.get_metric_history(run_id, "val_acc")] == [100, 200]
    assert "final_val_acc" in run.data.metrics and "final_unseen_acc" in run.data.metrics
    assert run.data.tags["data.md5"] == "84360fbf608b880808584b3f93c08edc.dir"
    assert len(run.data.tags["mlflow.source.git.commit"]) == 40
    artifacts = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert {"evaluation/confusion.png", "evaluation/confusion.json"} <= artifacts
    mlflow.set_tracking_uri(f"sqlite:///{dst / 'mlflow.db'}")
    out = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(["cruz", "mcgregor"])
    assert list(out["name"]) == ["cruz", "mcgregor"] and len(out.columns) == 3 + 18
    assert abs(out.iloc[0, 3:].sum() - 1) < 1e-5


def test_second_repro_runs_nothing(repo, repro):
    dst, env = repo
    out = sh(["dvc", "repro"], dst, env).stdout
    assert "Running stage" not in out and "didn't change" in out
    assert "Data and pipelines are up to date" in sh(["dvc", "status"], dst, env).stdout


def test_exp_run_variant_is_its_own_experiment_and_run(repo, repro):
    dst, env = repo
    before = {r.info.run_id for r in mlflow_client(dst).search_runs(["1"])}
    sh(["dvc", "exp", "run", "-n", "three", "-S", "train.layers=3", "-S", "train.steps=120"], dst, env)
    assert "three" in sh(["dvc", "exp", "list", "--name-only"], dst, env).stdout.split()
    rows = list(csv.reader(io.StringIO(sh(["dvc", "exp", "show", "--csv"], dst, env).stdout)))
    header, three = rows[0], next(r for r in rows if r[0] == "three")
    assert three[header.index("train.layers")] == "3" and float(three[header.index("val.acc")]) > 0
    runs = mlflow_client(dst).search_runs(["1"])
    new = [r for r in runs if r.info.run_id not in before]
    assert len(new) == 1 and new[0].data.params["filters"] == "[8, 8, 8]"
    assert new[0].data.params["widths"] == "[7, 3, 3]" and new[0].data.tags.get("dvc.exp_name") == "three"


def test_bad_params_stop_the_stage_naming_the_key(repo, repro):
    dst, env = repo
    r = sh(["dvc", "exp", "run", "-S", "train.dropout=1.5"], dst, env, check=False)
    assert r.returncode != 0 and "train.dropout: must be < 1" in r.stdout + r.stderr
