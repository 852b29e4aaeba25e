"""A trained model by any name a user gives it: a run id, a DVC experiment, a git revision (`main`, `HEAD`, a
tag, or `workspace`: the run that reports/train/run.json names there), a registry URI or `champion`; and the
validation predictions its evaluation logged, for paired comparisons.

mlflow is imported inside functions, as in store.py."""
import json
import re
import subprocess
import tempfile
from pathlib import Path

from ..errors import NameCNNError
from . import registry, store

PREDICTIONS = "evaluation/confusion.json"     # the evaluate stage's per-name validation predictions
SCORED = "val/confusion.json"                  # a study or confirmation run's, on the same validation names
RUN_JSON = "reports/train/run.json"           # the train stage's run, committed with each revision
PLAIN = re.compile(r"[A-Za-z0-9_.~^/@:+-]+")  # what a run id, experiment, revision or URI is made of


def predictions(run_id):
    """{name: (actual, predicted)} on the validation names, from the artifact the evaluate stage logged into
    run `run_id` (or a study or confirmation run its val/ one); a one-line NameCNNError when the run was never
    scored on them or the artifact is malformed."""
    import mlflow

    text = artifact = None
    with tempfile.TemporaryDirectory() as tmp:
        for artifact in (PREDICTIONS, SCORED):
            try:
                path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=tmp)
                text = Path(path).read_text()
                break
            except (OSError, mlflow.exceptions.MlflowException):
                continue
    if text is None:
        raise NameCNNError(f"MLflow run {run_id}: no {PREDICTIONS} or {SCORED} (was it scored on the validation "
                           f"names?)")
    try:
        rows = json.loads(text)
    except ValueError:
        rows = None
    keys = ("name", "actual", "predicted")
    if not isinstance(rows, list) or not rows or not all(
            isinstance(r, dict) and all(isinstance(r.get(k), str) for k in keys) for r in rows):
        raise NameCNNError(f"MLflow run {run_id}: {artifact} is not a list of name/actual/predicted records")
    return {r["name"]: (r["actual"], r["predicted"]) for r in rows}


def model_version(client, uri):
    """models:/name@alias or models:/name/3 -> its ModelVersion (MlflowException when there is none)."""
    name, _, alias = uri.removeprefix("models:/").partition("@")
    name, _, number = name.partition("/")
    return client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, number)


def revision_run(ref, root):
    """The run id that reports/train/run.json holds at git revision `ref` (`workspace`: the file as it is), or
    None when `ref` is no revision of this repository."""
    try:
        if ref == "workspace":
            text = (Path(root) / RUN_JSON).read_text()
        else:
            out = subprocess.run(["git", "show", f"{ref}:{RUN_JSON}"], cwd=root, capture_output=True, text=True,
                                 timeout=10)
            if out.returncode != 0:
                return None
            text = out.stdout
        return json.loads(text)["run_id"]
    except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError):
        return None


def find_run(ref, client=None, root=None):
    """A train run by its id, its DVC experiment name (tag dvc.exp_name; the latest such run), a git revision,
    `workspace`, a registry URI models:/namecnn@champion or models:/namecnn/3, or `champion` -> the run."""
    import mlflow

    client = client or mlflow.MlflowClient()
    missing = NameCNNError(f"{ref!r}: no run id, DVC experiment, git revision or registered version of that name")
    if not PLAIN.fullmatch(ref):
        raise missing
    with store.store_errors():
        if ref == "champion" or ref.startswith("models:/"):
            try:
                mv = model_version(client, f"models:/{registry.MODEL}@champion" if ref == "champion" else ref)
            except mlflow.exceptions.MlflowException:
                raise NameCNNError(f"{ref}: no such registered model version") from None
            return live(client.get_run(mv.run_id), ref)
        experiment = client.get_experiment_by_name(store.TRAIN_EXPERIMENT)
        if experiment is not None:
            found = client.search_runs([experiment.experiment_id], f"tags.`dvc.exp_name` = '{ref}'",
                                       order_by=["attributes.start_time DESC"], max_results=1)
            if found:
                return live(found[0], ref)
        run_id = revision_run(ref, root or store.repo_root()) or ref
        try:
            return live(client.get_run(run_id), ref)
        except mlflow.exceptions.MlflowException:
            raise missing from None


def live(run, ref):
    """The run, unless it was deleted (it may still be read, but no comparison should rest on it)."""
    if run.info.lifecycle_stage == "deleted":
        raise NameCNNError(f"{ref}: MLflow run {run.info.run_id} is deleted")
    return run
