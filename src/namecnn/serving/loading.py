"""Where `namecnn predict` gets its model, and the line saying which model answered: a folder (default the one
`dvc repro` trained) or an MLflow URI (models:/namecnn@champion, models:/namecnn/3, runs:/<id>/model).

A registry model is read as files (the weights and model.json logged with it), not through MLflow's pyfunc
loader, which unpickles the Python model and checks its environment: about a second instead of eight.
"""
import contextlib
import json
import tempfile
from pathlib import Path

from ..errors import NameCNNError
from ..nn import modelio
from ..tracking import lookup, registry, store


def from_folder(directory):
    """-> (params, meta, line). The validation accuracy is the one the model reached at its last step; the run
    is the train stage's, when reports/train/run.json beside the folder is the one that trained it."""
    params, meta = modelio.load(directory)
    directory = Path(directory)
    run = directory.resolve().parent / "reports" / "train" / "run.json"
    run_id = None
    if run.is_file():
        with contextlib.suppress(OSError, ValueError):
            run_id = json.loads(run.read_text()).get("run_id")
    acc = f"val acc {meta['val_acc']:.4f}" if isinstance(meta.get("val_acc"), float) else "val acc unknown"
    return params, meta, f"model: {directory}/ ({acc}{f', MLflow run {run_id}' if run_id else ''})"


def from_uri(uri):
    """-> (params, meta, line) for an MLflow model URI; a missing model or store is one line."""
    import mlflow
    from mlflow.exceptions import MlflowException

    store.connect()
    client = mlflow.MlflowClient()
    with store.store_errors():
        try:
            version = run_id = None
            source = uri
            if uri.startswith("models:/"):
                mv = lookup.model_version(client, uri)
                source, version, run_id = mv.source, mv.version, mv.run_id
            elif uri.startswith("runs:/"):
                run_id = uri.removeprefix("runs:/").split("/")[0]
            with tempfile.TemporaryDirectory() as tmp:
                local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=tmp))
                found = sorted(local.glob("artifacts/*/" + modelio.META))
                if not found:
                    raise NameCNNError(f"--model-uri {uri}: not a namecnn model (no {modelio.META} in its artifacts)")
                params, meta = modelio.load(found[0].parent)
            acc = (registry.val_acc(client, run_id) if run_id else None) or meta.get("val_acc")
        except (MlflowException, OSError) as e:
            raise NameCNNError(f"--model-uri {uri}: {store.first_line(e)}") from None
    what = ", ".join(filter(None, (f"version {version}" if version else "", f"MLflow run {run_id}" if run_id else "",
                                   f"val acc {acc:.4f}" if acc is not None else "")))
    return params, meta, f"model: {uri} ({what})"
