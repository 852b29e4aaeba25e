"""Optuna search over the network: one study, trials as nested MLflow runs, workers that scale out."""
import hashlib
import json
import multiprocessing
import os
import socket
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna

from . import config, data, evaluation, modelio, plots, pyfunc, runs, space, tracking, train
from .errors import NameCNNError
from .workers import one_thread

KEYS = ("sampler", "n_trials", "steps_per_trial", "eval_every", "seed", "pruner", "storage", "study_name", "workers",
        "space")
BASE_KEYS = tuple(k for k in config.TRAIN_KEYS if k not in space.KEYS + ("seed", "steps", "eval_every"))
DRAWN_PLACEHOLDER = {"boundary": False, "layers": 1, "filters": [1], "widths": [1], "pool": False,
                     "lr": {"kind": "constant", "value": 0.01}, "dropout": 0.0, "weight_decay": 0.0, "batch_size": 1,
                     "sampling": "balanced", "logit_adjust": 0.0}
STATE_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Some regimes for parameter", module="optuna")


@dataclass
class Context:
    """What a worker needs to run trials: picklable, so spawned processes can rebuild the rest."""
    search: dict
    train: dict
    encoded_dir: str
    root: str
    storage: str
    study_name: str
    parent_run_id: str
    experiment_id: str
    workers: int = 1


def check(p):
    config.check_keys(p, KEYS, "search")
    config.choice(p, "sampler", "search", ("random", "tpe"))
    config.choice(p, "pruner", "search", ("median", "none"))
    for key in ("n_trials", "steps_per_trial", "eval_every"):
        config.number(p, key, "search", 1, integer=True)
    config.number(p, "seed", "search", 0, integer=True)
    config.number(p, "workers", "search", 0, integer=True)
    if not isinstance(p["storage"], str) or not isinstance(p["study_name"], str) or not p["study_name"]:
        raise NameCNNError("search.storage and search.study_name: expected strings (storage may be empty)")
    space.check(p["space"])
    return p


def study_name(p, base):
    """study_name plus a digest of everything that defines the study: the same settings resume it,
    changed settings start a new one."""
    keyed = {k: p[k] for k in ("sampler", "seed", "pruner", "steps_per_trial", "eval_every", "space")}
    digest = hashlib.sha1(json.dumps([keyed, base], sort_keys=True).encode()).hexdigest()[:8]
    return f"{p['study_name']}-{digest}"


def storage_url(p, root):
    """search.storage, or the journal file .optuna/journal.log (safe for several processes)."""
    return p["storage"] or str(Path(root) / ".optuna" / "journal.log")


def open_storage(url):
    if "://" in url:
        return url
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(url))


def make_study(p, url, name):
    sampler = (optuna.samplers.TPESampler(multivariate=True, group=True, seed=p["seed"], n_startup_trials=5)
               if p["sampler"] == "tpe" else optuna.samplers.RandomSampler(seed=p["seed"]))
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=p["eval_every"])
              if p["pruner"] == "median" else optuna.pruners.NopPruner())
    try:
        return optuna.create_study(storage=open_storage(url), sampler=sampler, pruner=pruner, study_name=name,
                                   direction="maximize", load_if_exists=True)
    except Exception as e:                         # an unreachable or misconfigured storage
        raise NameCNNError(f"search.storage {url}: {str(e).splitlines()[0]}") from None


def objective(trial, ctx, splits, meta):
    import mlflow

    p = ctx.search
    seed = p["seed"] * 100_003 + trial.number
    base = {**ctx.train, "seed": seed, "steps": p["steps_per_trial"], "eval_every": p["eval_every"]}
    runs.start_run(ctx.experiment_id, f"trial-{trial.number}", "search", Path(ctx.root), nested=True,
                   parent_run_id=ctx.parent_run_id,
                   tags={"optuna.study": ctx.study_name, "optuna.trial": str(trial.number)})
    state = "FAIL"
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    try:
        cfg, arch = space.sample(trial, p["space"], base, meta)
        mlflow.log_params({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in cfg.items()})

        def on_eval(step, row):
            mlflow.log_metrics({k: v for k, v in row.items() if k != "step"}, step=step)
            trial.report(row["val_acc"], step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step} (val_acc {row['val_acc']:.3f})")

        rng = np.random.default_rng(seed)
        params, history = train.fit(cfg, arch, splits["train"], splits["val"], rng, on_eval=on_eval, progress=False)
        value = history[-1]["val_acc"]
        log_completed(params, arch, meta, cfg, splits["val"])
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


def log_completed(params, arch, meta, cfg, val):
    """Like every run: the confusion matrix (JSON, PNG) and the model, so any trial can be promoted."""
    import mlflow

    import namecnn

    yv = val["y"].astype(np.int64)
    from . import model

    pred = model.predict_proba(params, data.inputs(val, cfg["boundary"])["X"]).argmax(axis=1)
    cm = evaluation.confusion(yv, pred, len(meta["classes"]))
    mlflow.log_dict({"classes": meta["classes"], "matrix": cm.tolist()}, "evaluation/confusion_matrix.json")
    mlflow.log_figure(plots.confusion(cm, meta["classes"]), "evaluation/confusion.png")
    plots.plt.close("all")
    with tempfile.TemporaryDirectory() as tmp:
        modelio.save(tmp, params, modelio.model_meta(arch, meta, cfg))
        pyfunc.log_model(tmp, Path(namecnn.__file__).parent)


def work(ctx, n_trials):
    """One worker: add trials to the shared study until it holds n_trials finished ones."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from .memory import keep_freed_memory

    if ctx.workers > 1:
        one_thread()                                     # the processes share the cores: one BLAS thread each
    keep_freed_memory()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tracking.connect(Path(ctx.root))
    splits, meta = data.load(ctx.encoded_dir)
    study = make_study(ctx.search, ctx.storage, ctx.study_name)
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    if len(study.get_trials(deepcopy=False, states=done)) >= n_trials:
        return
    study.optimize(lambda t: objective(t, ctx, splits, meta), n_trials=n_trials, catch=(train.Diverged,),
                   callbacks=[MaxTrialsCallback(n_trials, states=done)], gc_after_trial=True)


def run(ctx, workers=1):
    """Run `workers` processes (this one and workers-1 spawned) against the study; returns the study."""
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
    return make_study(ctx.search, ctx.storage, ctx.study_name)


def trial_rows(study):
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        rows.append({"number": t.number, "state": t.state.name, "value": t.value,
                     "duration_s": None if duration is None else round(duration, 2),
                     "params": json.dumps(t.params, sort_keys=True), "reason": t.user_attrs.get("reason", "")})
    return rows


def figures(study):
    """Optuna's matplotlib plots; a plot that needs more completed trials than there are is a note instead."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    out = {}
    for name, fn in (("history", vis.plot_optimization_history), ("importances", vis.plot_param_importances),
                     ("parallel", vis.plot_parallel_coordinate)):
        try:
            ax = fn(study)
            fig = (ax[0] if hasattr(ax, "__len__") else ax).get_figure()
            fig.set_size_inches(9, 5)
            fig.tight_layout()
        except (ValueError, RuntimeError, ZeroDivisionError) as e:
            fig, ax = plt.subplots(figsize=(6, 2))
            ax.axis("off")
            ax.text(0.5, 0.5, f"{name}: not enough completed trials\n({str(e).splitlines()[0][:80]})",
                    ha="center", va="center")
        out[name] = fig
    return out


def study_minutes(study):
    """Wall-clock minutes from the first trial's start to the last one's end (resumed runs included)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete]
    if not done:
        return 0.0
    return (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds() / 60


def write_outputs(study, p, base, meta, out_dir, minutes):
    """trials.csv, best_params.json (summary and the exp command) and the plots. `minutes`: this invocation."""
    from . import fsio

    out = Path(out_dir)
    rows = trial_rows(study)
    fsio.write_csv(out / "trials.csv", rows, ["number", "state", "value", "duration_s", "params", "reason"])
    counts = {s: sum(r["state"] == s for r in rows) for s in ("COMPLETE", "PRUNED", "FAIL")}
    span = study_minutes(study)
    summary = {"study_name": study.study_name, "sampler": p["sampler"], "pruner": p["pruner"], "trials": len(rows),
               **{k.lower(): v for k, v in counts.items()}, "minutes": round(span, 3),
               "this_run_minutes": round(minutes, 3),
               "trials_per_minute": round(len(rows) / span, 2) if span > 0 else None}
    if counts["COMPLETE"]:
        best = study.best_trial
        cfg, _ = space.sample(optuna.trial.FixedTrial(best.params, best.number), p["space"],
                              {**base, "seed": p["seed"], "steps": p["steps_per_trial"], "eval_every": p["eval_every"]},
                              meta)
        summary.update(best_trial=best.number, best_value=best.value, best_params=best.params,
                       best_config={k: cfg[k] for k in space.KEYS}, command=space.exp_command(cfg, p["space"]))
    fsio.write_json(out / "best_params.json", summary)
    for name, fig in figures(study).items():
        plots.save(fig, out / f"{name}.png")
    return summary


def base_of(train_section):
    """What a trial takes from the train section: the keys the space does not draw (BASE_KEYS); dvc.yaml's
    search stage depends on exactly these, so a variant of a drawn key does not rerun the search."""
    missing = [k for k in BASE_KEYS if k not in train_section]
    if missing:
        raise NameCNNError(f"train.{missing[0]}: missing")
    return {k: train_section[k] for k in BASE_KEYS}


def search(p, train_section, encoded_dir, out_dir, workers=1):
    """The whole search as the stage and `namecnn search` run it; returns the summary."""
    import time

    import mlflow

    _, meta = data.load(encoded_dir)
    base = base_of(train_section)
    config.train_config({**DRAWN_PLACEHOLDER, **base, "seed": p["seed"], "steps": p["steps_per_trial"],
                         "eval_every": p["eval_every"]}, meta)            # the base's keys, checked before any work
    root = tracking.repo_root()
    experiment_id = tracking.experiment(tracking.SEARCH_EXPERIMENT, root)      # once, before any worker starts
    url = storage_url(p, root)
    name = study_name(p, base)
    make_study(p, url, name)                                   # likewise: create the study once
    start = time.time()
    with runs.start_run(experiment_id, f"search-{name}", "search", root, tags={"optuna.study": name}) as parent:
        mlflow.log_params({k: json.dumps(v) if isinstance(v, (dict, list)) else v
                           for k, v in p.items() if k != "workers"})           # the resolved count below
        mlflow.log_params({"workers": workers, "storage_kind": url.split("://")[0] if "://" in url else "journal"})
        ctx = Context(p, base, str(encoded_dir), str(root), url, name, parent.info.run_id, experiment_id, workers)
        study = run(ctx, workers)
        summary = write_outputs(study, p, base, meta, out_dir, (time.time() - start) / 60)
        mlflow.log_metrics({k: summary[k] for k in ("complete", "pruned", "fail", "trials_per_minute")
                            if summary.get(k) is not None})
        if "best_value" in summary:
            mlflow.log_metric("best_value", summary["best_value"])
        mlflow.log_artifacts(str(out_dir), "search")
    return summary
