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


def fit_members(cfg, arch, fit_on, score_on, jobs=0, on_eval=None, stop=None):
    """cfg["ensemble"] members -> (params, histories): one network's params dict when there is one member (trained
    here, reporting to on_eval and stopped by `stop` as train.fit is), else a list of the members' params."""
    k = cfg["ensemble"]
    if k == 1:
        params, history = train.fit(cfg, arch, fit_on, score_on, np.random.default_rng(cfg["seed"]), on_eval=on_eval,
                                    stop=stop)
        return params, [history]
    tasks = [Member({**cfg, "seed": member_seed(cfg["seed"], i)}, arch, fit_on, score_on) for i in range(k)]
    results = workers.run_all(fit_one, tasks, workers.resolve_jobs(jobs))
    return [p for p, _ in results], [h for _, h in results]
