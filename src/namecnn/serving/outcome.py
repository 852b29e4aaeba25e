"""What a complete training run logs beside its metrics, whichever stage ran it (a search trial, a confirmation
retraining, a study seed): the confusion matrix on the names it was scored on, as the evaluate stage logs it
(JSON and PNG under `<scored_on>/`), and the model, loadable as runs:/<run id>/model and comparable with
`namecnn compare`. A pruned trial logs neither: its curve is its record."""
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np

import namecnn

from .. import data
from ..nn import model, modelio
from ..reporting import plots
from ..scoring import metrics
from . import pyfunc

TITLES = {"inner": "Held-out inner names", "val": "Validation names"}


def log_confusion(params, meta, cfg, scored, scored_on):
    """The confusion matrix of `params` on the split `scored` (JSON and a row-normalised PNG) and each name's
    prediction (confusion.json, as the evaluate stage logs it: what `namecnn compare` reads) -> the matrix."""
    y = scored["y"].astype(np.int64)
    pred = model.predict_proba(params, data.inputs(scored, cfg["boundary"])["X"]).argmax(axis=1)
    cm = metrics.confusion(y, pred, len(meta["classes"]))
    mlflow.log_dict({"classes": meta["classes"], "matrix": cm.tolist()}, f"{scored_on}/confusion_matrix.json")
    mlflow.log_dict([{"name": str(n), "actual": meta["classes"][a], "predicted": meta["classes"][b]}
                     for n, a, b in zip(scored["names"], y, pred, strict=True)], f"{scored_on}/confusion.json")
    title = f"{TITLES.get(scored_on, scored_on)}: confusion matrix (rows: actual, normalised)"
    mlflow.log_figure(plots.confusion(cm, meta["classes"], title), f"{scored_on}/confusion.png")
    plots.plt.close("all")
    return cm


def log_model(params, arch, meta, cfg):
    """The network as the run's pyfunc model `model`, as the train stage logs it."""
    with tempfile.TemporaryDirectory() as tmp:
        modelio.save(tmp, params, modelio.model_meta(arch, meta, cfg))
        pyfunc.log_model(tmp, Path(namecnn.__file__).parent)


def log_outcome(params, arch, meta, cfg, scored, scored_on, with_model=True):
    """log_confusion, then log_model unless with_model is False -> the seconds logging took (also logged, as
    the metric logging_seconds_<scored_on>, so the cost of a store that holds every model is measured)."""
    start = time.perf_counter()
    log_confusion(params, meta, cfg, scored, scored_on)
    if with_model:
        log_model(params, arch, meta, cfg)
    seconds = time.perf_counter() - start
    mlflow.log_metric(f"logging_seconds_{scored_on}", seconds)
    return seconds
