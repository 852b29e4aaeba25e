"""Does a variant of the default beat it where the search selects: on the held-out inner names?

    python benchmarks/inner_probe.py '{"f500_drop06": {"filters": [500], "dropout": 0.6}, "wd": {"weight_decay": 3e-4}}'

Trains the default network (the train section) and each variant (a dict of train keys over it) on the
search's inner split of the training names, one run per seed, both cores (one process and one BLAS thread each),
and prints each one's balanced accuracy on the held-out inner names (the search's objective), mean and sd over
the seeds. The validation names are never loaded into a run: a variant that wins here is one to add to
`search.enqueue`, so that the search and its confirmation judge it as they judge every trial.
"""
import argparse
import json

import numpy as np

from namecnn import config, data
from namecnn.errors import NameCNNError, guard
from namecnn.training import recipe, train, workers


def run(task):
    name, over, seed, data_dir = task
    train_section, search = config.section("train"), config.section("search")
    splits, meta = data.load(data_dir)
    cfg, arch = recipe.train_config({**train_section, **over, "seed": seed}, meta, section=f"inner_probe {name}")
    fit_names, held = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])
    params, _ = train.fit(cfg, arch, fit_names, held, np.random.default_rng(seed), progress=False)
    _, _, balanced = train.score(params, data.inputs(held, cfg["boundary"])["X"], held["y"].astype(np.int64))
    return balanced


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", help='JSON: {"name": {train key: value, ...}, ...}; the default is always run')
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    ap.add_argument("--data", default="data/encoded")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        variants = {"default": {}, **json.loads(args.variants)}
    except ValueError as e:
        raise NameCNNError(f"variants: not JSON ({e})") from None
    if not all(isinstance(v, dict) for v in variants.values()):
        raise NameCNNError("variants: each must be a dict of train keys, e.g. {\"wide\": {\"filters\": [500]}}")
    tasks = [(name, over, seed, args.data) for name, over in variants.items() for seed in args.seeds]
    scores = workers.run_all(run, tasks, workers.resolve_jobs(args.jobs))
    out = {}
    for name in variants:
        got = [s for t, s in zip(tasks, scores, strict=True) if t[0] == name]
        out[name] = {"mean": float(np.mean(got)), "sd": float(np.std(got)), "runs": got}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"inner balanced accuracy, seeds {args.seeds} (the train section and variants over it)")
    for name, r in out.items():
        print(f"  {name:<16}{r['mean']:.4f} ± {r['sd']:.4f}   {np.round(r['runs'], 4).tolist()}")


if __name__ == "__main__":
    guard(main)
