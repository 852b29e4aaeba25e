"""A search trial: trained on the inner split of the training names, scored by its balanced accuracy on the
held-out inner names, reported every eval_every steps for the pruner; a nested MLflow run each; workers."""
import multiprocessing
import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

import namecnn

from .. import data
from ..errors import NameCNNError
from ..nn import model, modelio
from ..reporting import plots
from ..scoring import metrics
from ..serving import pyfunc
from ..tracking import store, tracked
from ..training import train
from ..training.memory import keep_freed_memory
from ..training.workers import one_thread
from . import optuna_study, space

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
    tags = {"optuna.study": ctx.study_name, "optuna.trial": str(trial.number)}
    try:
        cfg, arch = space.sample(trial, ctx.search["space"], {**ctx.base, "seed": seed}, meta)
    except space.Impossible as e:
        with tracked.training_run(ctx.place, f"trial-{trial.number}", dict(trial.params), tags, PRUNED):
            ended(trial, "PRUNED", e)
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
        log_completed(params, arch, meta, cfg, held_names)
        mlflow.log_metric("value", value)
        mlflow.set_tag("optuna.state", "COMPLETE")
    return value


def ended(trial, state, e):
    """A trial stopped by `e`: the reason on the Optuna trial and its run, then `e` raised on to Optuna."""
    trial.set_user_attr("reason", str(e))
    mlflow.set_tags({"optuna.reason": str(e), "optuna.state": state})
    raise e


def log_completed(params, arch, meta, cfg, held):
    """Like every run: the confusion matrix on the held-out inner names (JSON, PNG) and the model."""
    y = held["y"].astype(np.int64)
    pred = model.predict_proba(params, data.inputs(held, cfg["boundary"])["X"]).argmax(axis=1)
    cm = metrics.confusion(y, pred, len(meta["classes"]))
    mlflow.log_dict({"classes": meta["classes"], "matrix": cm.tolist()}, "inner/confusion_matrix.json")
    mlflow.log_figure(plots.confusion(cm, meta["classes"]), "inner/confusion.png")
    plots.plt.close("all")
    with tempfile.TemporaryDirectory() as tmp:
        modelio.save(tmp, params, modelio.model_meta(arch, meta, cfg))
        pyfunc.log_model(tmp, Path(namecnn.__file__).parent)


def work(ctx, n_trials):
    """One worker: add trials to the shared Optuna study until it holds n_trials finished ones."""
    if ctx.workers > 1:
        one_thread()                                     # the processes share the cores: one BLAS thread each
    keep_freed_memory()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store.connect(Path(ctx.place.root))
    splits, meta = data.load(ctx.encoded_dir)
    fit_names, held_names = inner(ctx, splits)
    del splits                                           # the validation names go: a trial never needs them
    study = optuna_study.open_optuna_study(ctx.search, ctx.storage, ctx.study_name, ctx.base["steps"])
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    if len(study.get_trials(deepcopy=False, states=done)) >= n_trials:
        return
    callbacks = [MaxTrialsCallback(n_trials, states=done)] + ([progress(n_trials)] if sys.stderr.isatty() else [])
    study.optimize(lambda t: objective(t, ctx, fit_names, held_names, meta), n_trials=n_trials,
                   catch=(train.Diverged,), callbacks=callbacks, gc_after_trial=True)


def progress(n_trials):
    """A line a trial on a terminal (CI logs stay quiet): trials done of n_trials, the best inner score so far."""
    def show(study, trial):
        finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        scores = [t.value for t in finished if t.state.name == "COMPLETE"]
        best = f"{max(scores):.4f}" if scores else "-"
        print(f"search: {len(finished)}/{n_trials} trials, trial {trial.number} {trial.state.name.lower()} "
              f"at step {trial.user_attrs.get('steps', 0)}; best inner balanced acc {best}", file=sys.stderr)
    return show


def optimize(ctx, workers=1):
    """Run `workers` processes (this one and workers-1 spawned) against the Optuna study."""
    n = ctx.search["n_trials"]
    procs = [multiprocessing.get_context("spawn").Process(target=work, args=(ctx, n)) for _ in range(workers - 1)]
    for proc in procs:
        proc.start()
    try:
        work(ctx, n)
    finally:
        for proc in procs:
            proc.join()
    bad = [proc.exitcode for proc in procs if proc.exitcode != 0]
    if bad:
        raise NameCNNError(f"search: {len(bad)} worker process(es) failed (exit codes {bad})")
