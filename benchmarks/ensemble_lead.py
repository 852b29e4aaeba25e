"""Does a seed ensemble beat the single default network where the search selects: on the held-out inner names?

    python benchmarks/ensemble_lead.py --members 3 --replicates 3

Trains members x replicates networks of the train section (seeds 1, 2, …) on the search's inner split of the
training names, both cores (one process and one BLAS thread each). The singles are every network alone; the
ensembles are disjoint groups of `members` of them, their probabilities averaged. Prints each one's balanced
accuracy on the held-out inner names, the ensembles' mean lead over the singles with its standard error, and
the confirmation's verdict (search.confirm.min_lead): adopt `train.ensemble` only on a lead of more than
min_lead standard errors. The validation names are never loaded. Also the wall time of one member against the
ensemble's, trained side by side as the train stage trains them.
"""
import argparse
import json
import time

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from namecnn import config, data
from namecnn.errors import guard
from namecnn.nn import model
from namecnn.training import members, recipe, workers


def run(task):
    seed, data_dir = task
    section, search = config.section("train"), config.section("search")
    splits, meta = data.load(data_dir)
    cfg, arch = recipe.train_config({**section, "seed": seed}, meta, section="ensemble_lead")
    fit_names, held = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])
    start = time.time()
    params, _ = members.fit_one(members.Member(cfg, arch, fit_names, held))
    return model.predict_proba(params, data.inputs(held, cfg["boundary"])["X"]), time.time() - start


def balanced(P, y):
    return float(balanced_accuracy_score(y, P.argmax(axis=1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    ap.add_argument("--data", default="data/encoded")
    args = ap.parse_args()
    search = config.section("search")
    splits, _ = data.load(args.data)
    y = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])[1]["y"].astype(np.int64)
    seeds = list(range(1, args.members * args.replicates + 1))
    start = time.time()
    results = workers.run_all(run, [(s, args.data) for s in seeds], workers.resolve_jobs(args.jobs))
    wall = time.time() - start
    probs = [p for p, _ in results]
    singles = [balanced(p, y) for p in probs]
    groups = [probs[i:i + args.members] for i in range(0, len(probs), args.members)]
    ensembles = [balanced(np.mean(g, axis=0), y) for g in groups]
    lead = float(np.mean(ensembles) - np.mean(singles))
    se = float(np.sqrt(np.var(ensembles, ddof=1) / len(ensembles) + np.var(singles, ddof=1) / len(singles)))
    min_lead = search["confirm"]["min_lead"]
    out = {"members": args.members, "replicates": args.replicates, "seeds": seeds, "singles": singles,
           "ensembles": ensembles, "single_mean": float(np.mean(singles)), "ensemble_mean": float(np.mean(ensembles)),
           "lead": lead, "lead_se": se, "min_lead": min_lead, "adopt": lead > min_lead * se,
           "member_seconds_median": float(np.median([t for _, t in results])), "wall_seconds": round(wall, 1)}
    print(json.dumps(out, indent=1))
    print(f"ensemble of {args.members}: inner balanced accuracy {out['ensemble_mean']:.4f} (replicates "
          f"{', '.join(f'{e:.4f}' for e in ensembles)}) against single {out['single_mean']:.4f} ± "
          f"{np.std(singles, ddof=1):.4f} ({len(singles)} seeds): lead {lead:+.4f}, {lead / se:.1f} standard errors; "
          f"{'adopt' if out['adopt'] else 'keep the single network'} by min_lead = {min_lead:g}")


if __name__ == "__main__":
    guard(main)
