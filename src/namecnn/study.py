"""The study's tables: named configurations (params.yaml's study.configs over study.base), each trained with
every seed of study.seeds, the seeds in parallel processes; each seed is an MLflow run in experiment `study`.

Per configuration: per-seed and mean ± std train, validation and unseen accuracy, and the accuracy of the
seeds' averaged predictions (an ensemble).
"""
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config, data, model, modelio, predict, runs, schema, tracking, train
from .errors import NameCNNError

DEFAULT = "default_model"       # the configuration equal to the train section (tests/test_dvc.py); its mean is a metric


def check(p):
    """The study section, checked against schema.SECTIONS["study"]; each configuration is checked against the
    data by `network`."""
    return schema.check(p, "study")


def network(p, name, meta):
    """(train config, Arch) of configuration `name`: study.base, study.steps, then its overrides."""
    if name not in p["configs"]:
        raise NameCNNError(f"study.configs.{name}: no such configuration")
    over = p["configs"][name] or {}
    return config.train_config({**p["base"], "steps": p["steps"], "eval_every": p["steps"], **over}, meta,
                               section=f"study.configs.{name}")


@dataclass(frozen=True)
class Task:
    """One training of the study: picklable, so that a spawned worker process can run it."""
    name: str
    cfg: dict
    seed: int
    encoded_dir: str
    unseen: str
    root: str
    experiment_id: str


def accuracy(P, y):
    return float(np.mean(P.argmax(axis=1) == y))


def train_seed(task):
    """Train one configuration with one seed as an MLflow run -> its accuracies and its validation and unseen
    probabilities (for the ensemble)."""
    import mlflow

    start = time.time()
    splits, meta = data.load(task.encoded_dir)
    names, yu = data.read_labelled_names(task.unseen, meta["n_classes"])
    cfg, arch = config.train_config({**task.cfg, "seed": task.seed}, meta, section=f"study.configs.{task.name}")
    ytr, yv = splits["train"]["y"].astype(np.int64), splits["val"]["y"].astype(np.int64)
    root = Path(task.root)
    tracking.connect(root)
    runs.start_run(task.experiment_id, f"{task.name}-seed{task.seed}", "study", root, tags={"study.config": task.name})
    with runs.run_status() as stop:
        tracking.log_config(cfg)
        params, _ = train.fit(cfg, arch, splits["train"], splits["val"], np.random.default_rng(task.seed),
                              progress=False, stop=stop)
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
