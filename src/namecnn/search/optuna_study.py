"""The Optuna study a search adds trials to (not the DD2424 study of study/): its name, its storage (a journal
file by default, or any RDB URL), its sampler and pruner. Created once by the search, opened by each worker."""
import hashlib
import json
import socket
import warnings
from pathlib import Path

import numpy as np
import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from ..errors import NameCNNError
from ..tracking import runs, store

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Some regimes for parameter", module="optuna")


def optuna_study_name(p, base):
    """search.study_name plus a digest of everything that defines the study: the same settings resume it,
    changed settings start a new one."""
    keyed = {k: p[k] for k in ("sampler", "seed", "pruner", "min_steps", "reduction_factor", "eval_every",
                               "inner_fraction", "enqueue", "space", "stratify")}
    digest = hashlib.sha1(json.dumps([keyed, base], sort_keys=True).encode()).hexdigest()[:8]
    return f"{p['study_name']}-{digest}"


def storage_url(p, root):
    """search.storage, or the journal file .optuna/journal.log (safe for several processes)."""
    return p["storage"] or str(Path(root) / ".optuna" / "journal.log")


def open_storage(url):
    """A journal file, or an RDB URL with heartbeats (a trial whose process stopped beating is failed, then retried
    by `reclaim`) and connections checked before use (a server drops idle ones)."""
    if "://" in url:
        return RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, heartbeat_interval=30, grace_period=120)
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(url))


def names(url):
    """The names of the studies a storage holds ([] for a journal file not yet written)."""
    if "://" not in url and not Path(url).is_file():
        return []
    try:
        return optuna.get_all_study_names(storage=open_storage(url))
    except Exception as e:                         # an unreachable or misconfigured storage
        raise NameCNNError(f"search.storage {url}: {str(e).splitlines()[0]}") from None


class PerTrialSeed(optuna.samplers.BaseSampler):
    """A sampler whose draws for trial n come from a seed of its own, (search.seed, n): the workers and concurrent
    searches that share an Optuna study never draw the same sequence (trial numbers are unique in a study), and a
    study run again with the same seed draws the same trials. The categorical dimensions named in `in_turn`
    are not drawn: trial n takes their (n mod k)-th choice, so each depth gets an equal share of the trials
    whatever the sampler thinks of it after a few noisy ones; the sampler draws the rest."""

    def __init__(self, make, seed, in_turn=()):
        self._make, self._seed, self._current, self._in_turn = make, seed, (None, None), set(in_turn)

    def _for(self, trial):
        if self._current[0] != trial.number:
            seed = int(np.random.SeedSequence([self._seed, trial.number]).generate_state(1)[0])
            self._current = (trial.number, self._make(seed))
        return self._current[1]

    def infer_relative_search_space(self, study, trial):
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        drawn = self._for(trial).sample_relative(study, trial, search_space)
        return {k: v for k, v in drawn.items() if k not in self._in_turn}

    def sample_independent(self, study, trial, param_name, param_distribution):
        if param_name in self._in_turn and isinstance(param_distribution, optuna.distributions.CategoricalDistribution):
            return param_distribution.choices[trial.number % len(param_distribution.choices)]
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial):
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state, values):
        self._for(trial).after_trial(study, trial, state, values)


def counted(trial):
    """Does a finished trial count toward n_trials? Complete, pruned and diverged (a result of its configuration)
    do; interrupted, orphaned and repeated ones do not (the first two are retried)."""
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and "diverged" in trial.user_attrs.get("reason", ""))


def reclaim(study):
    """Before new trials: fail the RUNNING trials whose worker process on this host is gone (kill -9, a lost
    machine is the RDB heartbeat's), then enqueue once again every failed trial that was not a result of its
    configuration (interrupted, orphaned). Returns (failed, retried) trial numbers."""
    host = socket.gethostname()
    failed = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
              if t.user_attrs.get(runs.HOST) == host and not runs.alive(t.user_attrs)]
    for number in failed:
        study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
    trials = study.get_trials(deepcopy=False)
    done = {t.user_attrs.get("retry_of") for t in trials}
    retried = [t for t in trials if t.state == TrialState.FAIL and not counted(t) and "repeat_of" not in t.user_attrs
               and t.number not in done and t.params]
    for t in retried:
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
    return failed, [t.number for t in retried]


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
    if p["sampler"] == "tpe":
        def make(seed):
            return optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed, n_startup_trials=8)
    else:
        make = optuna.samplers.RandomSampler
    sampler = PerTrialSeed(make, p["seed"], p["stratify"])
    # a failed trial is a row of trials.csv, not a traceback on stderr (namecnn -v shows Optuna's log)
    optuna.logging.set_verbosity(optuna.logging.INFO if store.verbose() else optuna.logging.ERROR)
    try:
        return optuna.create_study(storage=open_storage(url), sampler=sampler, pruner=pruner(p, max_steps),
                                   study_name=name, direction="maximize", load_if_exists=True)
    except Exception as e:                         # an unreachable or misconfigured storage
        raise NameCNNError(f"search.storage {url}: {str(e).splitlines()[0]}") from None
