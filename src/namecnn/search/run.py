"""Optuna search over the network: one Optuna study whose trials train on the inner split of the training names
and are pruned by successive halving, workers that scale out (trials.py), and a confirmation of the best
(confirm.py). The default network, trial 0 and a confirmed candidate, is params.yaml's train section.

Nothing here reads a validation name: trials score balanced accuracy on the inner split (data.inner_split); the
validation names are only scored by the confirmation, and only reported.
"""
import sys
import time

import mlflow

from .. import config, data
from ..errors import NameCNNError
from ..tracking import runs, store, tracked
from ..training import recipe
from . import confirm, optuna_study, outputs, pool, space, trials


def check(p):
    """The search section: config.SECTIONS["search"], then the enqueued trials and the space."""
    config.check(p, "search")
    if not isinstance(p["enqueue"], list) or not all(isinstance(e, dict) for e in p["enqueue"]):
        raise NameCNNError("search.enqueue: expected a list of mappings of train keys to try first")
    space.check(p["space"])
    if not isinstance(p["stratify"], list):
        raise NameCNNError(f"search.stratify: expected a list of search.space keys, got {p['stratify']!r}")
    for key in p["stratify"]:
        if not isinstance(p["space"].get(key), list):
            raise NameCNNError(f"search.stratify: {key} is not a list of choices in search.space")
    return p


def warm_start(study, p, base, meta):
    """Enqueue the default network (trial 0 of a new study) and search.enqueue's variants of it, so the
    search never ends worse than what we have. Each must be reachable in the space (checked, by key)."""
    if study.trials:
        return
    for i, over in enumerate([{}] + p["enqueue"]):
        where = "train" if i == 0 else f"search.enqueue[{i - 1}]"
        cfg, _ = recipe.train_config({**base, **over}, meta, section=where)
        study.enqueue_trial(space.as_params(cfg, p["space"], where), user_attrs={"enqueued": where})


def search(p, train, encoded_dir, out_dir, workers=1, until=None):
    """The whole search as the stage and `namecnn search` run it: trials, then the confirmation; returns the
    summary. `train`: the train section, the default network (trial 0 and a confirmed candidate). A team sharing
    one study stops early: `until="study"` creates it and enqueues the default, once, before any worker starts;
    `until="trials"` adds trials from this machine and leaves the confirmation to one last full search."""
    _, meta = data.load(encoded_dir)
    base, _ = recipe.train_config({**train, "eval_every": p["eval_every"]}, meta, section="train")
    root = store.repo_root()
    experiment_id = store.experiment(store.SEARCH_EXPERIMENT, root)            # once, before any worker starts
    url = optuna_study.storage_url(p, root)
    name = optuna_study.optuna_study_name(p, base)
    if until == "trials" and name not in optuna_study.names(url):
        raise NameCNNError(f"no Optuna study {name} in search.storage yet: create it once with `namecnn search "
                           "--create-only`, from the same params.yaml as the team (the name digests the search and "
                           "train sections: an uncommitted change makes another study)")
    study = optuna_study.open_optuna_study(p, url, name, base["steps"])                      # created once
    warm_start(study, p, base, meta)
    if until == "study":
        return {"study_name": name, "storage": url, "trials": len(study.trials)}
    failed, retried = optuna_study.reclaim(study)
    if failed or retried:
        print(f"search: {len(failed)} trial(s) left RUNNING by a process that is gone marked FAIL; "
              f"{len(retried)} interrupted trial(s) queued again", file=sys.stderr)
    start = time.time()
    parent = runs.start_run(experiment_id, f"search-{name}", "search", root, tags={"optuna.study": name})
    with runs.run_status():                                    # ends KILLED on Ctrl-C or SIGTERM, like every run
        store.log_config({k: v for k, v in p.items() if k != "workers"})       # the resolved count below
        mlflow.log_params({"workers": workers, "storage_kind": url.split("://")[0] if "://" in url else "journal"})
        ctx = trials.Context(p, base, str(encoded_dir), url, name,
                             tracked.Place(experiment_id, str(root), "search", parent.info.run_id), workers)
        pool.optimize(ctx, workers)
        study = optuna_study.open_optuna_study(p, url, name, base["steps"])
        if until == "trials":
            return {"study_name": name, "storage": url, "trials": len(study.trials),
                    "counted": sum(map(optuna_study.counted, study.trials))}
        search_minutes = (time.time() - start) / 60
        confirmed = confirm.confirm(ctx, study, encoded_dir, workers)
        summary = outputs.write_outputs(study, p, base, meta, out_dir, search_minutes, confirmed,
                                        (time.time() - start) / 60)
        mlflow.log_metrics({k: summary[k] for k in ("complete", "pruned", "fail", "trials_per_minute",
                                                     "full_length_share") if summary.get(k) is not None})
        mlflow.log_metrics({"winner_inner_balanced_acc": confirmed["winner"]["inner_mean"],
                            "winner_val_acc": confirmed["winner"]["val_mean"]})
        mlflow.log_artifacts(str(out_dir), "search")
    return summary
