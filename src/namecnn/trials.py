"""A search trial: trained on the inner split of the training names, scored by its balanced accuracy on the
held-out inner names, reported every eval_every steps for the pruner; a nested MLflow run each; workers."""
import multiprocessing
import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna

from . import data, evaluation, modelio, plots, pyfunc, runs, space, tracking, train
from .errors import NameCNNError
from .workers import one_thread

STATE_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


@dataclass
class Context:
    """What a worker needs to run trials: picklable, so spawned processes can rebuild the rest."""
    search: dict
    base: dict
    encoded_dir: str
    root: str
    storage: str
    study_name: str
    parent_run_id: str
    experiment_id: str
    workers: int = 1


def inner(ctx, splits):
    """(inner_train, inner_val) of the search's settings: the only names a trial sees."""
    return data.inner_split(splits["train"], ctx.search["inner_fraction"], ctx.search["seed"])


def objective(trial, ctx, fit_names, held_names, meta):
    import mlflow

    seed = ctx.search["seed"] * 100_003 + trial.number
    runs.start_run(ctx.experiment_id, f"trial-{trial.number}", "search", Path(ctx.root), nested=True,
                   parent_run_id=ctx.parent_run_id,
                   tags={"optuna.study": ctx.study_name, "optuna.trial": str(trial.number)})
    state = "FAIL"
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    try:
        cfg, arch = space.sample(trial, ctx.search["space"], {**ctx.base, "seed": seed}, meta)
        tracking.log_config(cfg)

        def on_eval(step, row):
            mlflow.log_metrics({f"inner_{k[4:]}" if k.startswith("val_") else k: v
                                for k, v in row.items() if k != "step"}, step=step)
            trial.set_user_attr("steps", step)
            trial.report(row["val_balanced_acc"], step)
            if step < cfg["steps"] and trial.should_prune():        # a trial that trained every step is complete
                raise optuna.TrialPruned(f"pruned at step {step} (inner balanced acc {row['val_balanced_acc']:.3f})")

        rng = np.random.default_rng(seed)
        params, history = train.fit(cfg, arch, fit_names, held_names, rng, on_eval=on_eval, progress=False)
        value = history[-1]["val_balanced_acc"]
        log_completed(params, arch, meta, cfg, held_names)
        mlflow.log_metric("value", value)
        state = "COMPLETE"
        return value
    except optuna.TrialPruned as e:
        state = "PRUNED"
        trial.set_user_attr("reason", str(e))
        mlflow.set_tag("optuna.reason", str(e))
        raise
    except train.Diverged as e:
        trial.set_user_attr("reason", str(e))
        mlflow.set_tag("optuna.reason", str(e))
        raise
    finally:
        mlflow.set_tag("optuna.state", state)
        mlflow.end_run(status=STATE_STATUS[state])


def log_completed(params, arch, meta, cfg, held):
    """Like every run: the confusion matrix on the held-out inner names (JSON, PNG) and the model."""
    import mlflow

    import namecnn

    from . import model

    y = held["y"].astype(np.int64)
    pred = model.predict_proba(params, data.inputs(held, cfg["boundary"])["X"]).argmax(axis=1)
    cm = evaluation.confusion(y, pred, len(meta["classes"]))
    mlflow.log_dict({"classes": meta["classes"], "matrix": cm.tolist()}, "inner/confusion_matrix.json")
    mlflow.log_figure(plots.confusion(cm, meta["classes"]), "inner/confusion.png")
    plots.plt.close("all")
    with tempfile.TemporaryDirectory() as tmp:
        modelio.save(tmp, params, modelio.model_meta(arch, meta, cfg))
        pyfunc.log_model(tmp, Path(namecnn.__file__).parent)


def work(ctx, n_trials):
    """One worker: add trials to the shared study until it holds n_trials finished ones."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from . import search
    from .memory import keep_freed_memory

    if ctx.workers > 1:
        one_thread()                                     # the processes share the cores: one BLAS thread each
    keep_freed_memory()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tracking.connect(Path(ctx.root))
    splits, meta = data.load(ctx.encoded_dir)
    fit_names, held_names = inner(ctx, splits)
    del splits                                           # the validation names go: a trial never needs them
    study = search.make_study(ctx.search, ctx.storage, ctx.study_name, ctx.base["steps"])
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
    """Run `workers` processes (this one and workers-1 spawned) against the study."""
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
