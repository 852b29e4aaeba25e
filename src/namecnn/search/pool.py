"""Workers that add trials to one Optuna study: this process and workers-1 spawned ones, each until the study
holds n_trials counted ones (optuna_study.counted). Ctrl-C or SIGTERM stops them all: a running trial ends its
MLflow run KILLED and its Optuna trial FAIL (retried by the next search), no further trial starts, and every
worker has exited before KeyboardInterrupt is raised here."""
import multiprocessing
import signal
import sys
import threading
from pathlib import Path

from .. import data
from ..errors import NameCNNError
from ..tracking import store
from ..training.memory import keep_freed_memory
from ..training.workers import one_thread
from . import optuna_study, trials

STOP = threading.Event()          # set by Ctrl-C or SIGTERM between trials; inside one, runs.run_status stops it


def _on_signal(signum, frame):
    STOP.set()


def work(ctx, n_trials):
    """One worker: add trials to the shared Optuna study until it holds n_trials counted ones, or a signal."""
    if ctx.workers > 1:
        one_thread()                                     # the processes share the cores: one BLAS thread each
    keep_freed_memory()
    store.connect(Path(ctx.place.root))
    splits, meta = data.load(ctx.encoded_dir)
    fit_names, held_names = trials.inner(ctx, splits)
    del splits                                           # the validation names go: a trial never needs them
    study = optuna_study.open_optuna_study(ctx.search, ctx.storage, ctx.study_name, ctx.base["steps"])

    def objective(trial):
        if STOP.is_set():
            raise KeyboardInterrupt
        return trials.objective(trial, ctx, fit_names, held_names, meta)

    def enough(study, trial):
        if STOP.is_set() or sum(map(optuna_study.counted, study.get_trials(deepcopy=False))) >= n_trials:
            study.stop()

    if sum(map(optuna_study.counted, study.get_trials(deepcopy=False))) < n_trials:
        study.optimize(objective, catch=(trials.train.Diverged, trials.Repeated), gc_after_trial=True,
                       callbacks=[enough] + ([progress(n_trials)] if sys.stderr.isatty() else []))
    if STOP.is_set():
        raise KeyboardInterrupt


def progress(n_trials):
    """A line a trial on a terminal (CI logs stay quiet): trials done of n_trials, the best inner score so far."""
    def show(study, trial):
        finished = [t for t in study.get_trials(deepcopy=False) if optuna_study.counted(t)]
        scores = [t.value for t in finished if t.state.name == "COMPLETE"]
        best = f"{max(scores):.4f}" if scores else "-"
        print(f"search: {len(finished)}/{n_trials} trials, trial {trial.number} {trial.state.name.lower()} "
              f"at step {trial.user_attrs.get('steps', 0)}; best inner balanced acc {best}", file=sys.stderr)
    return show


def _child(ctx, n_trials):
    """A spawned worker: an interrupt is its parent's to report, so it exits quietly (status 130)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    try:
        work(ctx, n_trials)
    except KeyboardInterrupt:
        sys.exit(130)


def optimize(ctx, workers=1):
    """Run `workers` processes (this one and workers-1 spawned) against the Optuna study. SIGTERM sent to this
    process alone is passed on to the spawned ones (Ctrl-C reaches them through the terminal's process group)."""
    n = ctx.search["n_trials"]
    STOP.clear()
    procs = [multiprocessing.get_context("spawn").Process(target=_child, args=(ctx, n)) for _ in range(workers - 1)]

    def on_term(signum, frame):
        STOP.set()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, _on_signal),
                signal.SIGTERM: signal.signal(signal.SIGTERM, on_term)}
    for proc in procs:
        proc.start()
    try:
        work(ctx, n)
    except KeyboardInterrupt:            # a signal reached this process inside its own trial
        STOP.set()
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_all(procs, tell=STOP.is_set())
    if STOP.is_set() or any(proc.exitcode == 130 for proc in procs):
        raise KeyboardInterrupt
    bad = [proc.exitcode for proc in procs if proc.exitcode != 0]
    if bad:
        raise NameCNNError(f"search: {len(bad)} worker process(es) failed (exit codes {bad})")


def stop_all(procs, tell):
    """Wait for the spawned workers; after a signal, SIGTERM those still running a few seconds later (they end
    their trial at the next step), and kill any that has not exited within a minute."""
    for timeout, action in ((5 if tell else None, "terminate"), (60, "kill")):
        for proc in procs:
            proc.join(timeout)
        alive = [proc for proc in procs if proc.is_alive()]
        if not alive:
            return
        for proc in alive:
            getattr(proc, action)()
    for proc in procs:
        proc.join()
