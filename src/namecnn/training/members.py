"""A seed ensemble's members, trained as one model: member 0 with the train section's seed itself (so an
ensemble of one is the single network, bit for bit), member i with a seed derived from (seed, i); more than
one member train in parallel processes, one BLAS thread each."""
from dataclasses import dataclass

import numpy as np

from ..nn import model
from . import train, workers


def member_seed(seed, i):
    return seed if i == 0 else int(np.random.SeedSequence([seed, i]).generate_state(1)[0])


@dataclass(frozen=True)
class Member:
    """One member's training: picklable, for a spawned worker."""
    cfg: dict
    arch: model.Arch
    fit_on: dict
    score_on: dict


def fit_one(m):
    """-> (params, history) of one member, from a generator of its seed."""
    return train.fit(m.cfg, m.arch, m.fit_on, m.score_on, np.random.default_rng(m.cfg["seed"]), progress=False)


def fit_members(cfg, arch, fit_on, score_on, jobs=0, on_eval=None, stop=None, progress=None):
    """cfg["ensemble"] members -> (params, histories): one network's params dict when there is one member, else a
    list of the members' params. With one member or jobs=1 they train here one after the other (on_eval follows
    the first; `stop` stops each, as train.fit does); else in `jobs` processes (0: one per core)."""
    k = cfg["ensemble"]
    tasks = [Member({**cfg, "seed": member_seed(cfg["seed"], i)}, arch, fit_on, score_on) for i in range(k)]
    if k == 1 or jobs == 1:
        results = [train.fit(m.cfg, m.arch, m.fit_on, m.score_on, np.random.default_rng(m.cfg["seed"]),
                             on_eval=on_eval if i == 0 else None, progress=progress, stop=stop)
                   for i, m in enumerate(tasks)]
    else:
        results = workers.run_all(fit_one, tasks, workers.resolve_jobs(jobs))
    params = [p for p, _ in results]
    return params[0] if k == 1 else params, [h for _, h in results]
