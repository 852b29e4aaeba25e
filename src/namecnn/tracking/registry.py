"""The model registry: a finished run's model becomes a version of a registered model. Alias `champion` is the
model of the committed default: it moves when `dvc repro` trains the train section as committed at git's HEAD
(an adopted variant), when `namecnn promote` shows a model significantly better, or to the first model of an
empty store; every other version (an experiment, a hand-edited workspace run) is a `challenger`.

mlflow is imported inside functions, as in store.py: `namecnn predict` from a folder loads this module too."""
import os
import signal
import sys
import time

from . import store

MODEL = "namecnn"                     # the registered model the train stage adds versions to
VAL_METRIC = "val/final_acc"          # each train run's accuracy on the 216 validation names
CARD = "From its model card (`model_card.md` among this version's run artifacts):"
DESCRIPTION = ("Surname -> language character CNN in NumPy (the languages of its training lists; each version's "
               "model card names them), one version per train-stage run. "
               "Input: a list of surnames; output: a DataFrame of the best language, its probability and one "
               "probability column per language. Alias `champion`: the model of the committed default (moved by "
               "`dvc repro` of the committed train section, or by `namecnn promote`); alias `challenger`: the "
               "latest experiment, which never moves the champion by itself.")
CHAMPION, CHALLENGER = "champion", "challenger"


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


def champion(client):
    """The champion's ModelVersion, or None while the registered model has none (or does not exist)."""
    import mlflow

    try:
        return client.get_model_version_by_alias(MODEL, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None


def settle(version, adopted, client=None):
    """Give a new version its role: `champion` when it is the committed default (`adopted`) or the store has no
    champion yet, else `challenger`, tagged with its DVC experiment. Returns (role, the champion's version)."""
    import mlflow

    client = client or mlflow.MlflowClient()
    with store.store_errors():
        held = champion(client)
        role = CHAMPION if adopted or held is None else CHALLENGER
        point(client, role, version)
        client.set_model_version_tag(MODEL, str(version), "namecnn.role", role)
        if os.environ.get("DVC_EXP_NAME"):
            client.set_model_version_tag(MODEL, str(version), "dvc.exp_name", os.environ["DVC_EXP_NAME"])
    return role, int(version) if role == CHAMPION else int(held.version)


def label(version):
    """A version as it is registered: the first of an empty store is the champion (there is nothing else to serve);
    a DVC experiment's is the challenger, tagged with the experiment's name, whichever stages it runs."""
    import mlflow

    client = mlflow.MlflowClient()
    with store.store_errors():
        if champion(client) is None:
            point(client, CHAMPION, version)
            client.set_model_version_tag(MODEL, str(version), "namecnn.role", CHAMPION)
        elif os.environ.get("DVC_EXP_NAME"):
            point(client, CHALLENGER, version)
            client.set_model_version_tag(MODEL, str(version), "namecnn.role", CHALLENGER)
            client.set_model_version_tag(MODEL, str(version), "dvc.exp_name", os.environ["DVC_EXP_NAME"])


def point(client, alias, version, tries=4):
    """Alias -> version. Two clients of one server setting the same alias at once can collide in its database (a
    unique-key violation on PostgreSQL): the later one tries again, and the last to set it holds it."""
    import mlflow

    for attempt in range(tries):
        try:
            return client.set_registered_model_alias(MODEL, alias, str(version))
        except mlflow.exceptions.MlflowException as e:
            if attempt == tries - 1 or not any(w in str(e).lower() for w in ("duplicate key", "unique constraint")):
                raise
            time.sleep(0.2 * 2 ** attempt)


def version_of(client, run_id):
    """The registered version of run `run_id`'s model, or None."""
    found = client.search_model_versions(f"name='{MODEL}' and run_id='{run_id}'")
    return found[0] if found else None


def describe(name, version, text):
    """Descriptions for the registered model (what it is) and for one of its versions (`text`)."""
    import mlflow

    client = mlflow.MlflowClient()
    with store.store_errors():
        client.update_registered_model(name, description=DESCRIPTION)
        client.update_model_version(name, str(version), description=text)


def attach_card(run_id, path, head):
    """The model card as an artifact of run `run_id`, and its head in the description of the run's registered
    version, after what the train stage wrote (which the registry's list shows); attached again, it replaces the
    head it left."""
    import mlflow

    client = mlflow.MlflowClient()
    with store.store_errors():
        client.log_artifact(run_id, str(path))
        mv = version_of(client, run_id)
        if mv is not None:
            base = (mv.description or "").split(CARD)[0].strip()
            client.update_model_version(MODEL, mv.version, description=f"{base}\n\n{CARD}\n\n{head}".strip())
