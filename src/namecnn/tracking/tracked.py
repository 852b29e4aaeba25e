"""A tracked training, as the study, the search's trials and its confirmation run one: the configuration
resolved with its seed, one MLflow run (nested under the search's when it has a parent) that logs it and ends
FINISHED, KILLED or FAILED (runs.run_status), and the network fitted from a generator of that seed."""
import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import data
from ..training import members, recipe, train
from . import runs, store


@dataclass(frozen=True)
class Place:
    """Where a training's run goes: picklable, so that a spawned worker can open it."""
    experiment_id: str
    root: str
    stage: str                          # the tag dvc.stage: study, search
    parent_run_id: str | None = None


def resolve(cfg, seed, meta, section):
    """(config, Arch) of train-like `cfg` with its seed replaced, checked against the data."""
    return recipe.train_config({**cfg, "seed": seed}, meta, section=section)


@contextlib.contextmanager
def training_run(place, run_name, cfg, tags=None, stopped_by=()):
    """An MLflow run for training `cfg`, its parameters logged; yields the Event that Ctrl-C or SIGTERM sets
    (train.fit stops between steps). `stopped_by`: exceptions that end it KILLED, not FAILED (a pruned trial)."""
    root = Path(place.root)
    store.connect(root)
    runs.start_run(place.experiment_id, run_name, place.stage, root, tags=tags,
                   nested=place.parent_run_id is not None, parent_run_id=place.parent_run_id)
    with runs.run_status(stopped_by) as stop:
        store.log_config(cfg)
        yield stop


def fit(cfg, arch, fit_on, score_on, stop=None, on_eval=None):
    """The network (or, with ensemble k > 1, its k members, here one after the other: members.fit_members)
    trained from generators of their seeds -> (params, history); history[-1] scores the returned model on
    `score_on` (loss, accuracy, balanced accuracy as val_*: an ensemble's averaged probabilities)."""
    params, histories = members.fit_members(cfg, arch, fit_on, score_on, jobs=1, on_eval=on_eval, stop=stop,
                                            progress=False)
    if cfg["ensemble"] == 1:
        return params, histories[0]
    X, y = data.inputs(score_on, cfg["boundary"])["X"], score_on["y"].astype(np.int64)
    loss, acc, balanced = train.score(params, X, y)
    return params, histories[0][:-1] + [{**histories[0][-1], "val_loss": loss, "val_acc": acc,
                                         "val_balanced_acc": balanced}]
