"""Optuna search over the network: one study whose trials train on the inner split of the training names and
are pruned by successive halving, workers that scale out, and a confirmation of the best (confirm.py).

Nothing here reads a validation name: trials score balanced accuracy on the inner split (data.inner_split); the
validation names are only scored by the confirmation, and only reported.
"""
import hashlib
import json
import time
import warnings
from pathlib import Path

import optuna

from . import config, confirm, data, runs, schema, searchout, space, tracking, trials
from .errors import NameCNNError

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Some regimes for parameter", module="optuna")


def check(p):
    """The search section: schema.SECTIONS["search"], then the study name, the enqueued trials, the space."""
    schema.check(p, "search")
    if not p["study_name"]:
        raise NameCNNError("search.study_name: expected a non-empty string")
    if not isinstance(p["enqueue"], list) or not all(isinstance(e, dict) for e in p["enqueue"]):
        raise NameCNNError("search.enqueue: expected a list of mappings of train keys to try first")
    space.check(p["space"])
    return p


def study_name(p, base):
    """study_name plus a digest of everything that defines the study: the same settings resume it,
    changed settings start a new one."""
    keyed = {k: p[k] for k in ("sampler", "seed", "pruner", "min_steps", "reduction_factor", "eval_every",
                               "inner_fraction", "enqueue", "space")}
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


def pruner(p, max_steps):
    """Successive halving (or Hyperband's brackets of it) over training steps: a trial reports its inner
    score every eval_every steps and goes on past rung k (min_steps * reduction_factor**k) only among the
    best 1/reduction_factor there; the survivors train to the default's full step count."""
    if p["pruner"] == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=p["min_steps"],
                                                      reduction_factor=p["reduction_factor"])
    if p["pruner"] == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=p["min_steps"], max_resource=max_steps,
                                              reduction_factor=p["reduction_factor"])
    if p["pruner"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=p["eval_every"])
    return optuna.pruners.NopPruner()


def make_study(p, url, name, max_steps):
    sampler = (optuna.samplers.TPESampler(multivariate=True, group=True, seed=p["seed"], n_startup_trials=8)
               if p["sampler"] == "tpe" else optuna.samplers.RandomSampler(seed=p["seed"]))
    try:
        return optuna.create_study(storage=open_storage(url), sampler=sampler, pruner=pruner(p, max_steps),
                                   study_name=name, direction="maximize", load_if_exists=True)
    except Exception as e:                         # an unreachable or misconfigured storage
        raise NameCNNError(f"search.storage {url}: {str(e).splitlines()[0]}") from None


def warm_start(study, p, base, meta):
    """Enqueue the default network (trial 0 of a new study) and search.enqueue's variants of it, so the
    search never ends worse than what we have. Each must be reachable in the space (checked, by key)."""
    if study.trials:
        return
    for i, over in enumerate([{}] + p["enqueue"]):
        where = "search.default" if i == 0 else f"search.enqueue[{i - 1}]"
        cfg, _ = config.train_config({**base, **over}, meta, section=where)
        study.enqueue_trial(space.as_params(cfg, p["space"], where), user_attrs={"enqueued": where})


def search(p, default, encoded_dir, out_dir, workers=1):
    """The whole search as the stage and `namecnn search` run it: trials, then the confirmation; returns the
    summary. `default`: the current default network (a train section), trial 0 and a confirmed candidate."""
    splits, meta = data.load(encoded_dir)
    base, _ = config.train_config({**default, "eval_every": p["eval_every"]}, meta, section="search.default")
    root = tracking.repo_root()
    experiment_id = tracking.experiment(tracking.SEARCH_EXPERIMENT, root)      # once, before any worker starts
    url = storage_url(p, root)
    name = study_name(p, base)
    warm_start(make_study(p, url, name, base["steps"]), p, base, meta)       # likewise: create the study once
    start = time.time()
    import mlflow

    with runs.start_run(experiment_id, f"search-{name}", "search", root, tags={"optuna.study": name}) as parent:
        tracking.log_config({k: v for k, v in p.items() if k != "workers"})    # the resolved count below
        mlflow.log_params({"workers": workers, "storage_kind": url.split("://")[0] if "://" in url else "journal"})
        ctx = trials.Context(p, base, str(encoded_dir), str(root), url, name, parent.info.run_id, experiment_id,
                             workers)
        trials.optimize(ctx, workers)
        study = make_study(p, url, name, base["steps"])
        search_minutes = (time.time() - start) / 60
        confirmed = confirm.confirm(ctx, study, p["default"], encoded_dir, workers)
        summary = searchout.write_outputs(study, p, base, meta, out_dir, search_minutes, confirmed,
                                          (time.time() - start) / 60)
        mlflow.log_metrics({k: summary[k] for k in ("complete", "pruned", "fail", "trials_per_minute",
                                                     "full_length_share") if summary.get(k) is not None})
        mlflow.log_metrics({"winner_inner_balanced_acc": confirmed["winner"]["inner_mean"],
                            "winner_val_acc": confirmed["winner"]["val_mean"]})
        mlflow.log_artifacts(str(out_dir), "search")
    return summary


def default_of(p, meta, path="params.yaml"):
    """The current default network: study.configs[search.default] over study.base, as the study trains it."""
    from . import study

    return study.network(config.section("study", path), p["default"], meta)[0]
