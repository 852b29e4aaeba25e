"""Does a seed ensemble beat the single default network where the search selects: on the held-out inner names?

    python benchmarks/ensemble_lead.py --members 3 --replicates 3

Trains members x replicates networks of the train section (seeds 1, 2, …) on the search's inner split of the
training names, both cores (one process and one BLAS thread each). The singles are every network alone; the
ensembles are disjoint groups of `members` of them, their probabilities averaged. Prints each one's balanced
accuracy on the held-out inner names, the ensembles' mean lead over the singles with its standard error, and
the confirmation's verdict (search.confirm.min_lead): adopt `train.ensemble` only on a lead of more than
min_lead standard errors. With --external, the same on the external dev names (which may choose a recipe; the
external test names never do). The validation names are never loaded. Also the wall time of one member against the
ensemble's, trained side by side as the train stage trains them.
"""
import argparse
import json
import time

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from namecnn import config, data
from namecnn.errors import guard
from namecnn.nn import model, modelio
from namecnn.scoring import external
from namecnn.serving import predict
from namecnn.training import members, recipe, workers


def run(task):
    seed, data_dir, external_dir = task
    section, search = config.section("train"), config.section("search")
    splits, meta = data.load(data_dir)
    cfg, arch = recipe.train_config({**section, "seed": seed}, meta, section="ensemble_lead")
    fit_names, held = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])
    start = time.time()
    params, _ = members.fit_one(members.Member(cfg, arch, fit_names, held))
    seconds = time.time() - start
    P = model.predict_proba(params, data.inputs(held, cfg["boundary"])["X"])
    dev = None
    if external_dir:                                      # external dev: may choose a recipe, as the inner split
        names, _ = external.read(external_dir, "dev", meta["classes"])
        dev = predict.probabilities(params, modelio.model_meta(arch, meta, cfg), names)
    return P, dev, seconds


def balanced(P, y):
    return float(balanced_accuracy_score(y, P.argmax(axis=1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    ap.add_argument("--data", default="data/encoded")
    ap.add_argument("--external", default="", help="also score on this external folder's dev names (data/external)")
    args = ap.parse_args()
    search = config.section("search")
    splits, meta = data.load(args.data)
    y = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])[1]["y"].astype(np.int64)
    seeds = list(range(1, args.members * args.replicates + 1))
    start = time.time()
    results = workers.run_all(run, [(s, args.data, args.external) for s in seeds], workers.resolve_jobs(args.jobs))
    wall = time.time() - start
    out = {"members": args.members, "replicates": args.replicates, "seeds": seeds,
           "member_seconds_median": float(np.median([t for _, _, t in results])), "wall_seconds": round(wall, 1)}
    scored = {"inner": ([p for p, _, _ in results], y)}
    if args.external:
        scored["external_dev"] = ([d for _, d, _ in results], external.read(args.external, "dev", meta["classes"])[1])
    for where, (probs, labels) in scored.items():
        out[where] = lead(probs, labels, args.members, search["confirm"]["min_lead"])
    print(json.dumps(out, indent=1))
    for where in scored:
        r = out[where]
        print(f"{where}: ensemble of {args.members}: balanced accuracy {r['ensemble_mean']:.4f} (replicates "
              f"{', '.join(f'{e:.4f}' for e in r['ensembles'])}) against single {r['single_mean']:.4f} ± "
              f"{np.std(r['singles'], ddof=1):.4f} ({len(r['singles'])} seeds): lead {r['lead']:+.4f}, "
              f"{r['lead'] / r['lead_se']:.1f} standard errors; {'adopt' if r['adopt'] else 'keep the single network'}"
              f" by min_lead = {r['min_lead']:g}")


def lead(probs, y, k, min_lead):
    """Singles (every network) against ensembles (disjoint groups of k): the lead and its standard error."""
    singles = [balanced(p, y) for p in probs]
    ensembles = [balanced(np.mean(probs[i:i + k], axis=0), y) for i in range(0, len(probs), k)]
    diff = float(np.mean(ensembles) - np.mean(singles))
    se = float(np.sqrt(np.var(ensembles, ddof=1) / len(ensembles) + np.var(singles, ddof=1) / len(singles)))
    return {"singles": singles, "ensembles": ensembles, "single_mean": float(np.mean(singles)),
            "ensemble_mean": float(np.mean(ensembles)), "lead": diff, "lead_se": se, "min_lead": min_lead,
            "adopt": diff > min_lead * se}


if __name__ == "__main__":
    guard(main)
