"""Does a variant of the default recipe lead where a recipe may be chosen: the inner split and external dev?

    python benchmarks/recipe_lead.py --seeds 4 -V sampling=balanced,logit_adjust=0 -V logit_adjust=0

Trains the train section and each variant (train keys overridden, `key=value` pairs, values read as YAML) with
the same seeds 1..n on the search's inner split of the training names, both cores (one process and one BLAS
thread each). Scores each network's balanced accuracy on the held-out inner names and on the external dev names;
the external test and the validation names are never loaded. For each variant: its lead over the default on
both, with the standard error of the difference of means, and the confirmation's rule (search.confirm.min_lead):
a recipe is adopted only on a lead of more than min_lead standard errors on external dev, with no such loss on
the inner names.
"""
import argparse
import json
import time

import numpy as np
import yaml
from sklearn.metrics import balanced_accuracy_score

from namecnn import config, data
from namecnn.errors import NameCNNError, guard
from namecnn.nn import model, modelio
from namecnn.scoring import external
from namecnn.serving import predict
from namecnn.training import members, recipe, workers


def run(task):
    over, seed, data_dir, external_dir = task
    section, search = config.section("train"), config.section("search")
    splits, meta = data.load(data_dir)
    cfg, arch = recipe.train_config({**section, **over, "seed": seed}, meta, section="recipe_lead")
    fit_names, held = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])
    start = time.time()
    params, _ = members.fit_one(members.Member(cfg, arch, fit_names, held))
    seconds = time.time() - start
    inner = model.predict_proba(params, data.inputs(held, cfg["boundary"])["X"]).argmax(axis=1)
    names, y_dev = external.read(external_dir, "dev", meta["classes"])
    dev = predict.probabilities(params, modelio.model_meta(arch, meta, cfg), names).argmax(axis=1)
    return (float(balanced_accuracy_score(held["y"], inner)), float(balanced_accuracy_score(y_dev, dev)),
            seconds)


def variant(text):
    """'a=1,b=x' -> {'a': 1, 'b': 'x'} (values as YAML reads them)."""
    pairs = [p.split("=", 1) for p in text.split(",")]
    if not all(len(p) == 2 and p[0] for p in pairs):
        raise NameCNNError(f"-V {text!r}: expected key=value pairs separated by commas")
    return {k.strip(): yaml.safe_load(v) for k, v in pairs}


def lead(base, other, min_lead):
    diff = float(np.mean(other) - np.mean(base))
    se = float(np.sqrt(np.var(base, ddof=1) / len(base) + np.var(other, ddof=1) / len(other)))
    return {"mean": float(np.mean(other)), "lead": diff, "se": se, "z": diff / se if se else float("inf"),
            "passes": diff > min_lead * se, "loses": diff < -min_lead * se}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-V", "--variant", action="append", type=variant, default=[], help="train keys to override")
    ap.add_argument("--base", type=variant, default={}, help="train keys to override in every recipe (a smoke run: "
                                                             "--base steps=100)")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    ap.add_argument("--data", default="data/encoded")
    ap.add_argument("--external", default="data/external")
    args = ap.parse_args()
    min_lead = config.section("search")["confirm"]["min_lead"]
    recipes = [args.base] + [{**args.base, **v} for v in args.variant]
    seeds = list(range(1, args.seeds + 1))
    tasks = [(over, s, args.data, args.external) for over in recipes for s in seeds]
    start = time.time()
    results = workers.run_all(run, tasks, workers.resolve_jobs(args.jobs))
    scores = {i: results[i * len(seeds):(i + 1) * len(seeds)] for i in range(len(recipes))}
    out = {"seeds": seeds, "min_lead": min_lead, "wall_seconds": round(time.time() - start, 1), "recipes": []}
    base_inner, base_dev = [r[0] for r in scores[0]], [r[1] for r in scores[0]]
    for i, over in enumerate(recipes):
        inner, dev = [r[0] for r in scores[i]], [r[1] for r in scores[i]]
        row = {"over": over, "inner": inner, "external_dev": dev, "seconds_median": float(np.median(
            [r[2] for r in scores[i]]))}
        if i:
            row["inner_lead"], row["dev_lead"] = lead(base_inner, inner, min_lead), lead(base_dev, dev, min_lead)
            row["adopt"] = row["dev_lead"]["passes"] and not row["inner_lead"]["loses"]
        out["recipes"].append(row)
    print(json.dumps(out, indent=1))
    print(f"default: inner {np.mean(base_inner):.4f}, external dev {np.mean(base_dev):.4f} ({len(seeds)} seeds)")
    for row in out["recipes"][1:]:
        il, dl = row["inner_lead"], row["dev_lead"]
        print(f"{row['over']}: inner {il['mean']:.4f} ({il['lead']:+.4f}, {il['z']:+.1f} SE), external dev "
              f"{dl['mean']:.4f} ({dl['lead']:+.4f}, {dl['z']:+.1f} SE): "
              f"{'adopt' if row['adopt'] else 'keep the default'} by min_lead = {min_lead:g}")


if __name__ == "__main__":
    guard(main)
