"""A search trial: trained on the inner split of the training names, scored by its balanced accuracy on the
held-out inner names, reported every eval_every steps for the pruner; a nested MLflow run each; workers."""
import os
import socket
from dataclasses import dataclass

import mlflow
import optuna

from .. import data
from ..serving import outcome
from ..tracking import runs, tracked
from ..training import train
from . import space

STATE_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}   # trial state -> its run's status
PRUNED = (optuna.TrialPruned,)                                                    # end a run KILLED, not FAILED


@dataclass
class Context:
    """What a worker needs to run trials: picklable, so spawned processes can rebuild the rest."""
    search: dict
    base: dict
    encoded_dir: str
    storage: str
    study_name: str
    place: tracked.Place
    workers: int = 1


def inner(ctx, splits):
    """(inner_train, inner_val) of the search's settings: the only names a trial sees."""
    return data.inner_split(splits["train"], ctx.search["inner_fraction"], ctx.search["seed"])


def objective(trial, ctx, fit_names, held_names, meta):
    """Train one drawn configuration on the inner split as a nested MLflow run; its state shows as the run's
    status (STATE_STATUS). A drawn architecture that cannot exist is pruned at once, its run holding the reason."""
    seed = ctx.search["seed"] * 100_003 + trial.number
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    for key, value in runs.process_tags().items():          # to tell an orphaned trial (optuna_study.reclaim)
        trial.set_user_attr(key, value)
    tags = {"optuna.study": ctx.study_name, "optuna.trial": str(trial.number)}
    try:
        cfg, arch = space.sample(trial, ctx.search["space"], {**ctx.base, "seed": seed}, meta)
        trial.set_user_attr("mflop_per_step", space.check_cost(cfg, arch, ctx.search["max_mflop_per_step"]))
    except space.Impossible as e:
        with tracked.training_run(ctx.place, f"trial-{trial.number}", dict(trial.params), tags, PRUNED):
            ended(trial, "PRUNED", e)
    twin = repeat_of(trial)
    if twin is not None:                                 # not trained again; not counted, not retried
        trial.set_user_attr("repeat_of", twin)
        raise Repeated(f"the parameters of trial {twin}, already tried")
    with tracked.training_run(ctx.place, f"trial-{trial.number}", cfg, tags, PRUNED) as stop:
        def on_eval(step, row):
            mlflow.log_metrics({f"inner_{k[4:]}" if k.startswith("val_") else k: v
                                for k, v in row.items() if k != "step"}, step=step)
            trial.set_user_attr("steps", step)
            trial.report(row["val_balanced_acc"], step)
            if step < cfg["steps"] and trial.should_prune():        # a trial that trained every step is complete
                raise optuna.TrialPruned(f"pruned at step {step} (inner balanced acc {row['val_balanced_acc']:.3f})")

        try:
            params, history = tracked.fit(cfg, arch, fit_names, held_names, stop, on_eval)
        except optuna.TrialPruned as e:
            ended(trial, "PRUNED", e)
        except train.Diverged as e:
            ended(trial, "FAIL", e)
        value = history[-1]["val_balanced_acc"]
        outcome.log_outcome(params, arch, meta, cfg, held_names, "inner")
        mlflow.log_metric("value", value)
        mlflow.set_tag("optuna.state", "COMPLETE")
    return value


class Repeated(Exception):
    """A trial drawn with the parameters of one already tried: failed at once, nothing trained."""


def repeat_of(trial):
    """The number of a complete or pruned trial of the same Optuna study with this trial's parameters, or None."""
    done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                          optuna.trial.TrialState.PRUNED))
    return next((t.number for t in done if t.params == trial.params and t.number != trial.number), None)


def ended(trial, state, e):
    """A trial stopped by `e`: the reason on the Optuna trial and its run, then `e` raised on to Optuna."""
    trial.set_user_attr("reason", str(e))
    mlflow.set_tags({"optuna.reason": str(e), "optuna.state": state})
    raise e

