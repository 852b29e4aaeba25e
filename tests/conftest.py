import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


SLOW = {"test_pipeline", "test_search", "test_serving", "test_faults"}   # `make check` (-m "not slow") skips these


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.stem in SLOW:
            item.add_marker(pytest.mark.slow)


TINY_TRAIN = {"seed": 1, "boundary": False, "layers": 2, "filters": [8, 8], "widths": [5, 3], "bias": True,
              "pool": False, "bias_std": 0.0, "dropout": 0.0, "weight_decay": 0.0, "batch_size": 50, "steps": 300,
              "momentum": 0.9, "lr": {"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 100},
              "sampling": "balanced", "logit_adjust": 0.0, "shuffle": True, "eval_every": 100,
              "train_eval_size": 500, "dtype": "float64", "impl": "fast"}


def tiny_train(**over):
    """A complete train section of two 8-filter layers and a few hundred steps, with `over` on top."""
    return {**TINY_TRAIN, **over}


@pytest.fixture(scope="session")
def raw_dir():
    if not (RAW / "ascii_names.txt").is_file():
        pytest.fail("data/raw is missing: run `make setup` (dvc pull) first")
    return RAW


@pytest.fixture
def raw_copy(raw_dir, tmp_path):
    """A writable copy of the raw files, to break."""
    dst = tmp_path / "raw"
    shutil.copytree(raw_dir, dst)
    return dst


@pytest.fixture(scope="session")
def encoded(raw_dir, tmp_path_factory):
    """The encode stage's output for the real data, in a temporary directory."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("encoded")
    subprocess.run([sys.executable, str(ROOT / "stages" / "encode.py"), str(raw_dir), str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


TINY = {
    "gradcheck": {"batch": 3, "max_entries": 15,
                  "configs": {"study": {"filters": [4, 4]}, "deep_bias_dropout": {"filters": [3, 3, 3]}}},
    "train": {"layers": 2, "filters": [8, 8], "widths": [5, 3], "steps": 200, "eval_every": 100, "train_eval_size": 300,
              "lr": {"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 50}},
    "evaluate": {"bootstrap": 100},
    "lr_range": {"steps": 60},
    "bench": {"steps": 5, "reference_steps": 1, "repeats": 1},
    "search": {"n_trials": 4, "eval_every": 20, "min_steps": 20, "confirm": {"top": 1, "seeds": [1]},
               "space": {"filters": {"low": 4, "high": 8, "step": 2}}},
    "baseline": {"max_iter": 300},
    "study": {"steps": 40, "seeds": [1, 2],
              "configs": {"default_model": {"filters": [8], "steps": 60}, "t7_depth5": {"filters": [4]},
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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def repro(repo):
    dst, env = repo
    return sh(["dvc", "repro"], dst, env)


