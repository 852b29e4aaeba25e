"""The model registry: a finished run's model becomes a version of a registered model; alias `champion`
points at the version with the best validation accuracy.

mlflow is imported inside functions, as in store.py: `namecnn predict` from a folder loads this module too."""
import json
import signal
import sys
import tempfile
from pathlib import Path

from ..errors import NameCNNError
from . import store

MODEL = "namecnn"                     # the registered model the train stage adds versions to
VAL_METRIC = "val/final_acc"          # what `champion` maximises: accuracy on the 216 validation names
DESCRIPTION = ("Surname -> language (18 classes) character CNN in NumPy, one version per train-stage run. "
               "Input: a list of surnames; output: a DataFrame of the best language, its probability and one "
               "probability column per language. Alias `champion`: the version with the best validation "
               "accuracy (metric val/final_acc of its run).")


def register(model_uri, name):
    """Register a logged model as a new version of `name` -> the version number. Called after the run ended
    FINISHED, so no version belongs to a killed or failed run. Ctrl-C or SIGTERM here waits until the version
    is made, then interrupts, saying which version it left."""
    import mlflow

    caught = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with store.store_errors():
            version = mlflow.register_model(model_uri, name).version
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        print(f"note: interrupted while registering; version {version} of {name} was completed first",
              file=sys.stderr)
        raise KeyboardInterrupt
    return int(version)


def val_acc(client, run_id):
    """A run's final validation accuracy (`val/final_acc`; `final_val_acc` in runs made before the rename)."""
    metrics = client.get_run(run_id).data.metrics
    return metrics.get(VAL_METRIC, metrics.get("final_val_acc"))


def best_version(name, exclude_run=None, client=None):
    """(validation accuracy, version, run id) of the best evaluated version of `name` whose run is not
    `exclude_run`, or None. Before a run is evaluated, this is the champion it is compared with."""
    import mlflow

    client = client or mlflow.MlflowClient()
    scored = []
    for mv in client.search_model_versions(f"name='{name}'"):
        value = val_acc(client, mv.run_id) if mv.run_id and mv.run_id != exclude_run else None
        if value is not None:
            scored.append((value, int(mv.version), mv.run_id))
    return max(scored) if scored else None


def promote_champion(name):
    """Point alias `champion` of registered model `name` at the version whose run has the best validation
    accuracy. Returns (version, value), or None when no version has been evaluated yet."""
    import mlflow

    client = mlflow.MlflowClient()
    best = best_version(name, client=client)
    if best is None:
        return None
    value, version, _ = best
    client.set_registered_model_alias(name, "champion", str(version))
    return version, value


def describe(name, version, text):
    """Descriptions for the registered model (what it is) and for one of its versions (`text`)."""
    import mlflow

    client = mlflow.MlflowClient()
    with store.store_errors():
        client.update_registered_model(name, description=DESCRIPTION)
        client.update_model_version(name, str(version), description=text)


PREDICTIONS = "evaluation/confusion.json"     # the evaluate stage's per-name validation predictions


def predictions(run_id):
    """{name: (actual, predicted)} on the validation names, from the artifact the evaluate stage logged into
    run `run_id`; a NameCNNError when the run was never evaluated."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=PREDICTIONS, dst_path=tmp)
            rows = json.loads(Path(path).read_text())
        except (OSError, ValueError, mlflow.exceptions.MlflowException):
            raise NameCNNError(f"MLflow run {run_id}: no {PREDICTIONS} (was it evaluated?)") from None
    return {r["name"]: (r["actual"], r["predicted"]) for r in rows}


def model_version(client, uri):
    """models:/name@alias or models:/name/3 -> its ModelVersion (MlflowException when there is none)."""
    name, _, alias = uri.removeprefix("models:/").partition("@")
    name, _, number = name.partition("/")
    return client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, number)


def find_run(ref, client=None):
    """A train run by its id, its DVC experiment name (tag dvc.exp_name; the latest such run), a registry URI
    models:/namecnn@champion or models:/namecnn/3, or `champion` -> the run (mlflow Run)."""
    import mlflow

    client = client or mlflow.MlflowClient()
    with store.store_errors():
        if ref == "champion" or ref.startswith("models:/"):
            try:
                mv = model_version(client, f"models:/{MODEL}@champion" if ref == "champion" else ref)
            except mlflow.exceptions.MlflowException:
                raise NameCNNError(f"{ref}: no such registered model version") from None
            return client.get_run(mv.run_id)
        experiment = client.get_experiment_by_name(store.TRAIN_EXPERIMENT)
        if experiment is not None:
            found = client.search_runs([experiment.experiment_id], f"tags.`dvc.exp_name` = '{ref}'",
                                       order_by=["attributes.start_time DESC"], max_results=1)
            if found:
                return found[0]
        try:
            return client.get_run(ref)
        except mlflow.exceptions.MlflowException:
            raise NameCNNError(f"{ref}: neither a run id nor a DVC experiment name with a train run in "
                               f"MLflow experiment {store.TRAIN_EXPERIMENT}") from None
