"""The DD2424 study's tables: each configuration (networks.py) trained with every seed of study.seeds, the seeds
in parallel processes; each seed is an MLflow run in experiment `study`.

Per configuration: per-seed and mean ± std train, validation and unseen accuracy, and the accuracy of the
seeds' averaged predictions (an ensemble).
"""
import time
from dataclasses import dataclass

import mlflow
import numpy as np

from .. import data
from ..nn import model, modelio
from ..serving import outcome, predict
from ..tracking import tracked


@dataclass(frozen=True)
class Task:
    """One training of the study: picklable, so that a spawned worker process can run it."""
    name: str
    cfg: dict
    seed: int
    encoded_dir: str
    unseen: str
    place: tracked.Place


def accuracy(P, y):
    return float(np.mean(P.argmax(axis=1) == y))


def train_seed(task):
    """Train one configuration with one seed as an MLflow run -> its accuracies and its validation and unseen
    probabilities (for the ensemble). The run holds the validation confusion matrix and the model."""
    start = time.time()
    splits, meta = data.load(task.encoded_dir)
    names, yu = data.read_labelled_names(task.unseen, meta["n_classes"])
    cfg, arch = tracked.resolve(task.cfg, task.seed, meta, f"study.configs.{task.name}")
    ytr, yv = splits["train"]["y"].astype(np.int64), splits["val"]["y"].astype(np.int64)
    with tracked.training_run(task.place, f"{task.name}-seed{task.seed}", cfg, {"study.config": task.name}) as stop:
        params, _ = tracked.fit(cfg, arch, splits["train"], splits["val"], stop)
        outcome.log_outcome(params, arch, meta, cfg, splits["val"], "val")
        Pv = model.predict_proba(params, data.inputs(splits["val"], cfg["boundary"])["X"])
        Pu = predict.probabilities(params, modelio.model_meta(arch, meta, cfg), names)
        Ptr = model.predict_proba(params, data.inputs(splits["train"], cfg["boundary"])["X"])
        row = {"seed": task.seed, "train_acc": accuracy(Ptr, ytr), "val_acc": accuracy(Pv, yv),
               "unseen_acc": accuracy(Pu, yu), "run_id": mlflow.active_run().info.run_id}
        mlflow.log_metrics({k: v for k, v in row.items() if k.endswith("acc")})
    return {**row, "seconds": round(time.time() - start, 1)}, Pv, Pu


def summarise(name, cfg, results, yv, yu, classes):
    """One configuration's seeds -> the stage's JSON record."""
    runs = [r for r, _, _ in results]
    keys = ("train_acc", "val_acc", "unseen_acc")
    Pv = np.mean([p for _, p, _ in results], axis=0)
    Pu = np.mean([p for _, _, p in results], axis=0)
    return {"name": name, "config": {k: cfg[k] for k in cfg if k != "seed"}, "steps": cfg["steps"],
            "seeds": [r["seed"] for r in runs], "runs": runs,
            "mean": {k: float(np.mean([r[k] for r in runs])) for k in keys},
            "std": {k: float(np.std([r[k] for r in runs])) for k in keys},
            "ensemble": {"val_acc": accuracy(Pv, yv), "unseen_acc": accuracy(Pu, yu),
                         "unseen_predicted": [classes[i] for i in Pu.argmax(axis=1)],
                         "unseen_probability": [float(x) for x in Pu.max(axis=1)]},
            "seconds": round(sum(r["seconds"] for r in runs), 1)}

