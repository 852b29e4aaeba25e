"""Would averaging the weights at the cyclic learning rate's minima (SWA, Izmailov et al. 2018) help the default?

    python benchmarks/weight_averaging.py --seeds 1 2 3 --last 0.25 0.5 --jobs 2

Trains the default network (the train section) on the search's inner split of the training names,
one run per seed, and scores three networks from each run on the held-out inner names (balanced accuracy, the
search's objective) and on the validation names (reported, never selected on): the last step's weights, and
the mean of the weights at the end of every learning-rate cycle in the last `--last` fraction of the steps.
Each is logit-adjusted as the train stage does. One BLAS thread a process.
"""
import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from namecnn import config, data
from namecnn.errors import guard
from namecnn.training import recipe, sampling, schedule, train, workers


def run(task):
    seed, last, data_dir = task
    workers.one_thread()
    search = config.section("search")
    splits, meta = data.load(data_dir)
    cfg, arch = recipe.train_config(config.section("train"), meta)
    cfg = {**cfg, "seed": seed}
    fit_names, held = data.inner_split(splits["train"], search["inner_fraction"], search["seed"])
    rng = np.random.default_rng(seed)
    params, velocity = train.start(cfg, arch, rng)
    X, y = data.inputs(fit_names, cfg["boundary"])["X"], fit_names["y"].astype(np.int64)
    stream = sampling.batches(y, cfg["batch_size"], rng, cfg["sampling"], cfg["shuffle"])
    lr_at, cycle, steps = schedule.make(cfg["lr"]), 2 * cfg["lr"]["step_size"], cfg["steps"]
    sums = {f: {k: np.zeros(v.shape) for k, v in params.items()} for f in last}
    counts = dict.fromkeys(last, 0)
    for step in range(1, steps + 1):
        rows = next(stream)
        train.sgd_step(params, velocity, X[rows], y[rows], lr_at(step - 1), cfg, rng)
        for f in last:
            if step % cycle == 0 and step > steps * (1 - f):
                counts[f] += 1
                for k, v in params.items():
                    sums[f][k] += v
    nets = {"last step": params} | {f"mean of the last {f:g}": {k: (v / counts[f]).astype(params[k].dtype)
                                                              for k, v in sums[f].items()} for f in last}
    log_prior = train.sampling_log_prior(y, arch.n_classes, cfg["sampling"])
    out = {}
    for name, p in nets.items():
        scored = train.adjusted(p, log_prior, cfg["logit_adjust"])
        inner = data.inputs(held, cfg["boundary"])["X"], held["y"].astype(np.int64)
        val = data.inputs(splits["val"], cfg["boundary"])["X"], splits["val"]["y"].astype(np.int64)
        out[name] = (train.score(scored, *inner)[2], train.score(scored, *val)[1])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--last", type=float, nargs="+", default=[0.25, 0.5], help="fractions of the steps averaged")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--data", default="data/encoded")
    args = ap.parse_args()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run, [(seed, args.last, args.data) for seed in args.seeds]))
    print(f"{'weights':<24}{'inner balanced acc':>22}{'validation acc':>20}   (seeds {args.seeds})")
    for name in results[0]:
        inner, val = (np.array([r[name][i] for r in results]) for i in (0, 1))
        print(f"{name:<24}{inner.mean():>14.4f} ± {inner.std(ddof=1):.4f}{val.mean():>12.4f} ± {val.std(ddof=1):.4f}")


if __name__ == "__main__":
    guard(main)
