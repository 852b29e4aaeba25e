"""Sampling and logit adjustment side by side: validation and unseen-name accuracy per configuration and tau.

    python benchmarks/sampling_sweep.py --seeds 1 2 3 --taus 0 1 1.5 --jobs 2

Each configuration (the `train` section of params.yaml with the overrides below, or `--config NAME=JSON`) is
trained once per seed with logit_adjust 0; every tau is then applied with `train.adjusted`, against the prior
the configuration's batches were drawn under, exactly as `train.logit_adjust` does. Prints one row per
configuration and tau (mean ± std over seeds, and the seeds' averaged predictions), then how often each
unseen name was right over all networks and taus. One BLAS thread per job.
"""
import argparse
import json
from collections import Counter
from multiprocessing import Pool

import numpy as np
from threadpoolctl import threadpool_limits

from namecnn import config, data
from namecnn.nn import model, modelio
from namecnn.serving import predict
from namecnn.training import recipe, train
from namecnn.training.memory import keep_freed_memory

CONFIGS = {
    "balanced": {"sampling": "balanced"},
    "natural": {"sampling": "natural"},
    "sqrt": {"sampling": "sqrt"},
    "natural, no boundary marks, 30000 steps": {"sampling": "natural", "boundary": False, "steps": 30000},
}


def one(job):
    """Train one (configuration, seed) and score it at every tau -> (name, seed, {tau: (P_val, P_unseen)})."""
    name, over, seed, taus, args = job
    keep_freed_memory()
    splits, meta = data.load(args.encoded_dir)
    cfg, arch = recipe.train_config({**config.load_section("train", args.params), **over, "logit_adjust": 0.0},
                                    meta)
    cfg = {**cfg, "eval_every": cfg["steps"]}
    names, _ = data.read_labelled_names(args.unseen, meta["n_classes"])
    with threadpool_limits(1):
        params, _ = train.fit(cfg, arch, splits["train"], splits["val"], np.random.default_rng(seed), progress=False)
    log_prior = train.sampling_log_prior(splits["train"]["y"].astype(np.int64), arch.n_classes, cfg["sampling"])
    X, mmeta = data.inputs(splits["val"], cfg["boundary"])["X"], modelio.model_meta(arch, meta, cfg)
    scored = {}
    for tau in taus:
        p = train.adjusted(params, log_prior, tau)
        scored[tau] = (model.predict_proba(p, X), predict.probabilities(p, mmeta, names))
    return name, seed, scored


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--taus", type=float, nargs="+", default=[0.0, 0.75, 1.0, 1.5])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--config", action="append", default=[], metavar="NAME=JSON",
                    help="a configuration instead of the built-in ones: train overrides as JSON")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--encoded-dir", default="data/encoded")
    ap.add_argument("--unseen", default="data/raw/celebrity_names.txt")
    args = ap.parse_args()
    configs = dict(c.split("=", 1) for c in args.config) if args.config else CONFIGS
    configs = {k: json.loads(v) if isinstance(v, str) else v for k, v in configs.items()}
    splits, meta = data.load(args.encoded_dir)
    yv = splits["val"]["y"].astype(np.int64)
    names, yu = data.read_labelled_names(args.unseen, meta["n_classes"])
    jobs = [(n, o, s, args.taus, args) for n, o in configs.items() for s in args.seeds]
    with Pool(args.jobs) as pool:
        results = pool.map(one, jobs)
    hits, scorings = Counter(), 0
    print(f"{'configuration':42s} {'tau':>5s}  {'validation':>15s}  {'unseen':>6s}  {'averaged val':>12s}  unseen")
    for name in configs:
        runs = [scored for n, _, scored in results if n == name]
        for tau in args.taus:
            val = [np.mean(r[tau][0].argmax(axis=1) == yv) for r in runs]
            unseen = [np.mean(r[tau][1].argmax(axis=1) == yu) for r in runs]
            Pv, Pu = np.mean([r[tau][0] for r in runs], axis=0), np.mean([r[tau][1] for r in runs], axis=0)
            print(f"{name:42s} {tau:5.2f}  {np.mean(val):.4f} ± {np.std(val):.4f}  {np.mean(unseen):6.3f}  "
                  f"{np.mean(Pv.argmax(axis=1) == yv):12.4f}  {np.mean(Pu.argmax(axis=1) == yu):.3f}")
            for r in runs:
                hits.update(n for n, ok in zip(names, r[tau][1].argmax(axis=1) == yu, strict=True) if ok)
                scorings += 1
    print(f"\nunseen names right, of {scorings} scorings ({len(results)} networks x {len(args.taus)} taus):")
    print(", ".join(f"{n} {hits[n]}" for n in names))


if __name__ == "__main__":
    main()
