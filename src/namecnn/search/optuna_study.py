"""The Optuna study a search adds trials to (not the DD2424 study of study/): its name, its storage (a journal
file by default, or any RDB URL), its sampler and pruner. Created once by the search, opened by each worker."""
import hashlib
import json
import warnings
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from ..errors import NameCNNError

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Some regimes for parameter", module="optuna")


def optuna_study_name(p, base):
    """search.study_name plus a digest of everything that defines the study: the same settings resume it,
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


def open_optuna_study(p, url, name, max_steps):
    """The Optuna study `name` in storage `url`, created if missing; an unreachable storage is one line."""
    sampler = (optuna.samplers.TPESampler(multivariate=True, group=True, seed=p["seed"], n_startup_trials=8)
               if p["sampler"] == "tpe" else optuna.samplers.RandomSampler(seed=p["seed"]))
    try:
        return optuna.create_study(storage=open_storage(url), sampler=sampler, pruner=pruner(p, max_steps),
                                   study_name=name, direction="maximize", load_if_exists=True)
    except Exception as e:                         # an unreachable or misconfigured storage
        raise NameCNNError(f"search.storage {url}: {str(e).splitlines()[0]}") from None
