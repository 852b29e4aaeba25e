"""The search as a new user breaks it: concurrent workers and searches, SIGTERM, kill -9, Ctrl-C and a rerun, a
search space with values the train section refuses. Each ends in one line, with nothing lost or left running."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml

from helpers import tiny_train
from namecnn import config
from namecnn.errors import NameCNNError
from namecnn.search import optuna_study
from namecnn.search import run as search
from test_faults import running_runs
from test_search import SPACE, TRAIN, params

SLOW_TRAIN = tiny_train(filters=[32, 32], steps=1500, eval_every=500, train_eval_size=200, dtype="float32",
                        lr={"kind": "cyclic", "min": 0.002, "max": 0.05, "step_size": 30})


@pytest.mark.parametrize("over,message", [
    ({"dropout": {"low": 0.5, "high": 1.0}}, "search.space.dropout: must be < 1, got 1.0"),
    ({"filters": {"low": 0, "high": 8}}, "search.space.filters: must be >= 1, got 0"),
    ({"weight_decay": [1e-4, -1]}, "search.space.weight_decay: must be >= 0, got -1"),
    ({"sampling": ["balanced", "uniform"]}, "search.space.sampling: must be one of balanced, sqrt, natural"),
    ({"lr": {**SPACE["lr"], "max": {"low": -1, "high": 0.3}}}, "search.space.lr.max: must be > 0, got -1"),
])
def test_every_value_of_the_space_is_checked_against_the_train_section_first(over, message):
    with pytest.raises(NameCNNError, match="^" + message.replace(".", r"\.")):
        search.check(params(space={**SPACE, **over}))


def test_seed_lists_refuse_duplicates():
    with pytest.raises(NameCNNError, match=r"search\.confirm\.seeds: seed 1 given twice"):
        search.check(params(confirm={"top": 1, "seeds": [1, 1], "min_lead": 2.0, "ensemble": 0}))
    with pytest.raises(NameCNNError, match=r"study\.seeds: seed 3 given twice"):
        config.check({"steps": 1, "seeds": [3, 1, 3], "jobs": 0, "base": {"a": 1}, "configs": {"a": {}}}, "study")


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_each_trial_draws_from_its_own_seed(sampler):
    """Two samplers built alike (two workers, two searches) draw different trials for different trial numbers
    and the same for the same number: reproducible, and never the same sequence twice."""
    def draws(numbers):
        make = optuna.samplers.RandomSampler if sampler == "random" else optuna.samplers.TPESampler
        study = optuna.create_study(sampler=optuna_study.PerTrialSeed(lambda seed: make(seed=seed), 0))
        out = {}
        for _ in range(max(numbers) + 1):
            t = study.ask()
            out[t.number] = (t.suggest_int("a", 0, 10**6), t.suggest_float("b", 0, 1))
            study.tell(t, 0.0)
        return out

    first, second = draws([5]), draws([5])
    assert first == second                                        # reproducible for a given seed
    assert len(set(first.values())) == len(first)                 # each trial number its own draw


def write_project(root, encoded, search_over, train=SLOW_TRAIN):
    (root / ".dvc").mkdir(exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump({"search": params(**search_over), "train": train}))
    return [sys.executable, "-m", "namecnn.cli", "search", "--data", str(encoded), "--workers", "2"]


def env_without_tracking():
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}


def journal_trials(root, by_study=False):
    storage = optuna_study.open_storage(str(root / ".optuna" / "journal.log"))
    studies = {s.study_name: optuna.load_study(study_name=s.study_name, storage=storage).trials
               for s in optuna.get_all_study_summaries(storage)}
    return studies if by_study else [t for trials in studies.values() for t in trials]


@pytest.mark.slow
def test_two_concurrent_two_worker_searches_repeat_no_parameter_set(tmp_path, encoded):
    space = {**SPACE, "layers": 1, "filters": {"low": 4, "high": 64, "step": 2}}
    cmd = write_project(tmp_path, encoded, {"n_trials": 12, "space": space},
                        {**TRAIN, "layers": 1, "filters": [8], "widths": [3], "steps": 60, "eval_every": 30})
    for sampler in ("random", "tpe"):
        procs = [subprocess.Popen([*cmd, "--sampler", sampler, "--out", f"out-{sampler}-{i}"], cwd=tmp_path,
                                  env=env_without_tracking(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for i in range(2)]
        for proc in procs:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
    studies = journal_trials(tmp_path, by_study=True)
    assert len(studies) == 2                                       # one Optuna study a sampler, two searches each
    for trials in studies.values():
        drawn = [json.dumps(t.params, sort_keys=True) for t in trials if not {"enqueued", "retry_of", "repeat_of"}
                 & set(t.user_attrs)]
        assert len(drawn) >= 11 and len(set(drawn)) == len(drawn)


def start(cmd, root):
    proc = subprocess.Popen(cmd, cwd=root, env=env_without_tracking(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while running_runs(root / "mlflow.db") < 3 and time.time() < deadline:      # the parent and two trials
        time.sleep(0.3)
    time.sleep(1.0)
    return proc


def left_in_group(pgid):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, 0)
        return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM to the search alone", "Ctrl-C to the process group"])
def test_an_interrupted_search_stops_everything_and_the_rerun_completes_the_trials(tmp_path, encoded, how):
    cmd = write_project(tmp_path, encoded, {"n_trials": 4, "space": {**SPACE, "layers": 2, "filters": [32]}})
    proc = start(cmd, tmp_path)
    try:
        if how.startswith("SIGTERM"):
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        time.sleep(10)
        assert not left_in_group(proc.pid)                          # no worker left behind
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "error: interrupted", err
    assert "Traceback" not in err and err.count("error:") == 1
    assert running_runs(tmp_path / "mlflow.db") == 0
    assert not [t for t in journal_trials(tmp_path) if t.state.name == "RUNNING"]
    failed = [t.number for t in journal_trials(tmp_path) if t.state.name == "FAIL"]
    assert failed                                                   # at least one trial was cut
    if how.startswith("SIGTERM"):
        return                                                      # the rerun, once: after Ctrl-C below
    r = subprocess.run(cmd, cwd=tmp_path, env=env_without_tracking(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    trials = journal_trials(tmp_path)
    assert sum(optuna_study.counted(t) for t in trials) >= 4
    assert sorted(t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs) == failed


@pytest.mark.slow
def test_a_killed_search_leaves_orphaned_trials_that_the_next_one_retries(tmp_path, encoded):
    cmd = write_project(tmp_path, encoded, {"n_trials": 3, "space": {**SPACE, "layers": 2, "filters": [32]}})
    proc = start(cmd, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    orphans = [t.number for t in journal_trials(tmp_path) if t.state.name == "RUNNING"]
    assert orphans                                                  # kill -9 leaves them RUNNING
    r = subprocess.run(cmd, cwd=tmp_path, env=env_without_tracking(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{len(orphans)} trial(s) left RUNNING by a process that is gone marked FAIL" in r.stderr
    trials = {t.number: t for t in journal_trials(tmp_path)}
    assert all(trials[n].state.name == "FAIL" for n in orphans)
    assert sorted(t.user_attrs["retry_of"] for t in trials.values() if "retry_of" in t.user_attrs) == orphans
    assert sum(optuna_study.counted(t) for t in trials.values()) >= 3 and running_runs(tmp_path / "mlflow.db") == 0
