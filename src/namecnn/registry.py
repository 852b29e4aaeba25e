"""The model registry: a finished run's model becomes a version of a registered model; alias `champion`
points at the version with the best validation accuracy."""
import signal
import sys

from . import tracking

MODEL = "namecnn"                     # the registered model the train stage adds versions to


def register(model_uri, name):
    """Register a logged model as a new version of `name` -> the version number. Called after the run ended
    FINISHED, so no version belongs to a killed or failed run. Ctrl-C or SIGTERM here waits until the version
    is made, then interrupts, saying which version it left."""
    import mlflow

    caught = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with tracking.store_errors():
            version = mlflow.register_model(model_uri, name).version
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        print(f"note: interrupted while registering; version {version} of {name} was completed first",
              file=sys.stderr)
        raise KeyboardInterrupt
    return int(version)


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
