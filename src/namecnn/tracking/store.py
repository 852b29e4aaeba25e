"""The MLflow store every stage shares: where it is, its experiments, a run's tags, its id on disk, and the
one-line error a broken or unreachable store becomes (runs.py starts and ends runs, registry.py names models).

mlflow is imported inside the functions that use it: `namecnn predict` from a folder loads this module through
serving/loading.py and never needs mlflow, which takes 1.6 s to import."""
import contextlib
import fcntl
import json
import logging
import os
import subprocess
from pathlib import Path

import yaml

from .. import fsio
from ..errors import NameCNNError

TRAIN_EXPERIMENT, STUDY_EXPERIMENT, SEARCH_EXPERIMENT = "namecnn", "study", "namecnn-search"
UI_TAGS = {"mlflow.experimentKind": "custom_model_development"}    # the UI's model-training view, not GenAI's
ABOUT = {   # each experiment's description, as the MLflow UI shows it
    TRAIN_EXPERIMENT: "One run a train-stage training (`dvc repro`, `dvc exp run`): compare runs by `val/final_acc` "
                      "(accuracy on the 216 validation names) and `val/vs_champion` (the difference to the "
                      "registered champion on the same names). Run names say what a variant changes.",
    STUDY_EXPERIMENT: "The DD2424 study reproduced: one run a configuration and seed (tag study.config), and the "
                      "n-gram baseline.",
    SEARCH_EXPERIMENT: "The Optuna search: a parent run a search, nested runs for its trials (scored on the inner "
                       "split, never the validation names) and the confirmation's retrainings.",
}


def repo_root():
    """The project root: DVC_ROOT when DVC runs the stage, else the nearest folder above with a .dvc/.

    `dvc exp run --temp/--queue` runs stages in a copy under <root>/.dvc/tmp/exps/; their runs belong to
    <root>'s store too, so the path is cut there.
    """
    start = Path(os.environ.get("DVC_ROOT") or Path.cwd()).resolve()
    text = str(start)
    marker = f"{os.sep}.dvc{os.sep}tmp{os.sep}exps{os.sep}"
    if marker in text:
        return Path(text.split(marker)[0])
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return start


def tracking_uri(root=None):
    """MLFLOW_TRACKING_URI when set (a server, any store), else the embedded SQLite file <root>/mlflow.db."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root or repo_root()) / 'mlflow.db'}"


def connect(root=None):
    """Point MLflow at the project's store; returns the URI."""
    import mlflow

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")   # an unreachable server fails in seconds
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    logging.getLogger("mlflow").setLevel("INFO" if verbose() else "WARNING")
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)   # its errors reach us as one line
    return uri


def verbose():
    """`namecnn -v` (MLFLOW_LOGGING_LEVEL=INFO, inherited by every worker): MLflow's and Optuna's INFO lines shown."""
    return os.environ.get("MLFLOW_LOGGING_LEVEL", "").upper() == "INFO"


@contextlib.contextmanager
def creating(uri):
    """Processes that open a new SQLite store at once race to create and migrate its tables ("table … already
    exists", "no such column"): for the embedded store, one at a time (a lock file beside it)."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    with open(f"{uri.removeprefix('sqlite:///')}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def experiment(name, root=None):
    """The experiment's id, created on first use; with the local store its artifacts go under <root>/mlartifacts."""
    import mlflow
    from mlflow.exceptions import MlflowException

    root = root or repo_root()
    uri = connect(root)
    try:
        with creating(uri):
            client = mlflow.MlflowClient()
            found = client.get_experiment_by_name(name)
            if found is None:
                location = (root / "mlartifacts" / name).as_uri() if uri.startswith("sqlite:") else None
                with contextlib.suppress(MlflowException):           # created meanwhile through a server
                    client.create_experiment(name, artifact_location=location)
                found = client.get_experiment_by_name(name)
            for key, value in {**UI_TAGS, "mlflow.note.content": ABOUT[name]}.items():
                if found.tags.get(key) != value:
                    client.set_experiment_tag(found.experiment_id, key, value)
            return found.experiment_id
    except Exception as e:            # MlflowException, SQLAlchemy's or the HTTP client's errors
        raise NameCNNError(f"MLflow tracking store {uri}: {first_line(e)}") from None


def first_line(e, limit=300):
    """The first line of the innermost cause: `database or disk is full`, not SQLAlchemy's wrapping of it."""
    while e.__cause__ is not None:
        e = e.__cause__
    lines = str(e).strip().splitlines()
    return (lines[0] if lines else type(e).__name__)[:limit]


def store_error(e):
    """The one-line NameCNNError for an exception the tracking store raised (a corrupt, read-only or full
    SQLite file; a server that is down), else None: MlflowException, SQLAlchemy's errors, the HTTP client's."""
    from mlflow.exceptions import MlflowException

    kinds = [MlflowException]
    with contextlib.suppress(ImportError):
        from sqlalchemy.exc import SQLAlchemyError

        kinds.append(SQLAlchemyError)
    with contextlib.suppress(ImportError):
        from requests import RequestException

        kinds.append(RequestException)
    if isinstance(e, tuple(kinds)):
        return NameCNNError(f"MLflow tracking store {tracking_uri()}: {first_line(e)}")
    return None


@contextlib.contextmanager
def store_errors():
    """Turn the tracking store's exceptions inside the block into one-line NameCNNErrors."""
    try:
        yield
    except Exception as e:
        error = store_error(e)
        if error is None:
            raise
        raise error from None


def data_hash(root):
    path = root / "data" / "raw.dvc"
    try:
        return yaml.safe_load(path.read_text())["outs"][0]["md5"]
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return "unknown"


def git_commit(root):
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_tags(root, stage):
    tags = {"mlflow.source.git.commit": git_commit(root), "data.md5": data_hash(root), "dvc.stage": stage}
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    return tags


def flat(d, prefix=""):
    """{'lr': {'kind': 'cyclic'}, 'filters': [300]} -> {'lr.kind': 'cyclic', 'filters': '[300]'}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(v) if isinstance(v, (list, tuple)) else v
    return out


def log_config(cfg, prefix=""):
    """A configuration as the active run's parameters, one way for every stage: nested keys dotted."""
    import mlflow

    mlflow.log_params(flat(cfg, prefix))


def shown_uri(root=None):
    """The store as a user types it: sqlite:///mlflow.db for the embedded one (mlflow.set_tracking_uri exports
    its absolute path as MLFLOW_TRACKING_URI, so the variable alone cannot tell), else the URI as set."""
    uri = tracking_uri(root)
    return "sqlite:///mlflow.db" if uri == f"sqlite:///{(root or repo_root()) / 'mlflow.db'}" else uri


def write_run(path, run, **extra):
    """The run's id beside its outputs, and its store as shown_uri names it, not by this machine's path."""
    fsio.write_json(path, {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id,
                           "tracking_uri": shown_uri(), **extra})


def read_run(path):
    """What write_run wrote: the run id, its registered version and the training's figures."""
    path = Path(path)
    try:
        run = json.loads(path.read_text())
        run["run_id"], run["version"]
        return run
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise NameCNNError(f"{path}: no MLflow run id and version ({e}); run the train stage first") from None
