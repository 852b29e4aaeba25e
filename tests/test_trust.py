"""What the pipeline serves and compares, tried on the tiny repository as a new user would: one command back to
the committed state, comparisons by git revision, a champion whose artifacts are gone, progress under DVC."""
import json
import re
import shutil
import sys

import mlflow
import pytest
import yaml

from helpers import sh
from test_pipeline import back_to_the_commit, mlflow_client

PROMOTE_LIKE = [sys.executable, "-m", "namecnn.cli"]


def committed_state(dst, env):
    """Nothing differs from HEAD: params.yaml, dvc.lock and the reports in git; models/ and data in DVC."""
    changed = sh(["git", "status", "--porcelain", "--", "params.yaml", "dvc.lock", "reports"], dst, env).stdout
    return changed == "" and "up to date" in sh(["dvc", "status"], dst, env).stdout


@pytest.mark.slow
@pytest.mark.parametrize("situation", ["hand-edited repro, autostaged", "dvc exp apply", "failed workspace run"])
def test_make_reset_brings_back_the_committed_state(repo, repro, situation):
    dst, env = repo
    assert committed_state(dst, env)
    try:
        if situation.startswith("hand-edited"):
            params = yaml.safe_load((dst / "params.yaml").read_text())
            params["train"]["dropout"] = 0.2
            (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            sh(["dvc", "repro", "evaluate"], dst, env)              # DVC stages the new dvc.lock (autostage)
            assert "dvc.lock" in sh(["git", "diff", "--cached", "--name-only"], dst, env).stdout
        elif situation == "dvc exp apply":
            sh(["dvc", "exp", "run", "--temp", "-n", "toreset", "-S", "train.steps=120", "evaluate"], dst, env)
            sh(["dvc", "exp", "apply", "toreset"], dst, env)
        else:
            r = sh(["dvc", "exp", "run", "-S", "train.dropout=1.5", "evaluate"], dst, env, check=False)
            assert r.returncode != 0
        assert not committed_state(dst, env)
        back_to_the_commit(dst, env)
        assert committed_state(dst, env)
        assert (dst / "models/model.npz").is_file() and (dst / "reports/evaluate/scores.json").is_file()
    finally:
        back_to_the_commit(dst, env)


@pytest.mark.slow
def test_compare_takes_git_revisions_and_refuses_what_is_not_a_run(repo, repro):
    dst, env = repo
    r = sh([*PROMOTE_LIKE, "compare", "HEAD", "workspace", "--json"], dst, env)
    c = json.loads(r.stdout)
    assert c["a"] == c["b"] == json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    for args, message in ((["a'1"], "error: \"a'1\": no run id, DVC experiment, git revision or registered version"),
                          (["HEAD", "--seed", "-1"], "error: --seed must be 0 to 2**63 - 1, got -1"),
                          (["HEAD", "--bootstrap", "1000000000"], "error: --bootstrap must be 1 to 100000")):
        r = sh([*PROMOTE_LIKE, "compare", *args], dst, env, check=False)
        assert r.returncode == 1 and r.stderr.strip() == r.stderr.strip().splitlines()[0], r.stderr
        assert r.stderr.startswith(message), r.stderr


@pytest.mark.slow
def test_a_deleted_run_and_a_malformed_artifact_are_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvc").mkdir()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    ids = {}
    for name, body in (("deleted", [{"name": "x", "actual": "a", "predicted": "a"}]), ("empty", []),
                       ("nameless", [{"actual": "a", "predicted": "a"}]), ("null", None)):
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_dict(body, "evaluation/confusion.json")
        ids[name] = run.info.run_id
    mlflow.MlflowClient().delete_run(ids["deleted"])
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "PATH": "/usr/bin:/bin"}
    cases = {"deleted": "is deleted", "empty": "is not a list of name/actual/predicted records",
             "nameless": "is not a list of name/actual/predicted records",
             "null": "is not a list of name/actual/predicted records"}
    for name, message in cases.items():
        other = ids["empty" if name != "empty" else "null"]
        r = sh([*PROMOTE_LIKE, "compare", ids[name], other], tmp_path, env, check=False)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr


@pytest.mark.slow
def test_evaluate_finishes_when_the_champions_artifacts_are_gone(repo, repro):
    dst, env = repo
    champion = mlflow_client(dst).get_model_version_by_alias("namecnn", "champion")
    artifacts = next(p for p in (dst / "mlartifacts").rglob(champion.run_id) if p.is_dir())
    aside = dst.parent / "aside"
    shutil.move(artifacts, aside)
    try:
        out = sh(["dvc", "exp", "run", "--temp", "-n", "orphan", "-S", "train.steps=150", "evaluate"], dst, env).stdout
        assert f"not compared with the champion (version {champion.version}): MLflow run" in out, out
        shown = sh(["dvc", "exp", "show", "--json"], dst, env).stdout
        assert "orphan" in shown
    finally:
        shutil.move(aside, artifacts)


@pytest.mark.slow
def test_training_reports_progress_when_no_terminal_shows_a_bar(repo, repro):
    """Under `dvc repro` stderr is no terminal: a line every 10 % of the steps, with the time left."""
    lines = [line for line in (repro.stdout + repro.stderr).splitlines() if re.match(r"train: step \d+/", line)]
    assert [int(re.match(r"train: step (\d+)/200", line).group(1)) for line in lines] == list(range(20, 200, 20))
    assert re.fullmatch(r"train: step 100/200 \(50 %\), val acc 0\.\d+ at step 100, \d+ s, about \d+ s left",
                        lines[4]), lines
