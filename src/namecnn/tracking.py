"""MLflow set-up shared by every stage: where the store is, the experiment, a run's tags, its id on disk."""
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import yaml

from . import fsio
from .errors import NameCNNError


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
    for p in (start, *start.parents):
        if (p / ".dvc").is_dir():
            return p
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
    return uri


def experiment(name, root=None):
    """The experiment's id, created on first use; with the local store its artifacts go under <root>/mlartifacts."""
    import mlflow
    from mlflow.exceptions import MlflowException

    root = root or repo_root()
    uri = connect(root)
    client = mlflow.MlflowClient()
    try:
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = (root / "mlartifacts" / name).as_uri() if uri.startswith("sqlite:") else None
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException:
            found = client.get_experiment_by_name(name)        # created meanwhile by another process
            if found is None:
                raise
            return found.experiment_id
    except Exception as e:            # MlflowException, or the HTTP client's error for a server that is not there
        raise NameCNNError(f"MLflow tracking store {uri}: {str(e).splitlines()[0][:300]}") from None


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


def write_run(path, run, uri, **extra):
    fsio.write_json(path, {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id,
                           "tracking_uri": uri, **extra})


@contextlib.contextmanager
def run_status():
    """End the active MLflow run FINISHED, KILLED on Ctrl-C or SIGTERM, FAILED on any other error.

    Yields a threading.Event that the first SIGINT or SIGTERM sets, for the training loop to stop at a
    safe point between steps (not inside a tracking-store write); a second signal interrupts at once.
    """
    import threading

    import mlflow

    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
        if stop.is_set():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        mlflow.end_run("KILLED")
        raise
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    else:
        mlflow.end_run("FINISHED")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def promote_champion(name, metric="final_val_acc"):
    """Point alias `champion` of registered model `name` at the version whose run has the best `metric`.
    Returns (version, value), or None when no version has the metric yet."""
    import mlflow

    client = mlflow.MlflowClient()
    scored = []
    for mv in client.search_model_versions(f"name='{name}'"):
        value = client.get_run(mv.run_id).data.metrics.get(metric) if mv.run_id else None
        if value is not None:
            scored.append((value, int(mv.version)))
    if not scored:
        return None
    value, version = max(scored)
    client.set_registered_model_alias(name, "champion", str(version))
    return version, value


def read_run(path):
    path = Path(path)
    try:
        return json.loads(path.read_text())["run_id"]
    except (OSError, ValueError, KeyError) as e:
        raise NameCNNError(f"{path}: no MLflow run id ({e}); run the train stage first") from None
