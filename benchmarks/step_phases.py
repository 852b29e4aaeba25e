"""Where a training step of a max-pooled one-layer network (the default) spends its time, phase by phase.

    python benchmarks/step_phases.py --from-params train --steps 2000

Runs the training loop as `train.fit` does (batches from the sampling stream, a fresh dropout mask, SGD with
momentum), but calls the layers of `model.fast_loss`'s pooled one-layer path one at a time and times each
phase with perf_counter, one BLAS thread. Prints the mean ms a step of every phase over the steps after
`--warmup`, and their sum (the timers themselves cost a few microseconds a phase).
"""
import argparse
import time
from collections import defaultdict

import numpy as np

from namecnn import data
from namecnn.errors import NameCNNError, guard
from namecnn.nn import layers, model, onehot
from namecnn.study import networks
from namecnn.training import sampling, schedule, train, workers
from namecnn.training.optim import momentum_step


class Laps:
    """Seconds between successive `lap(name)` calls, summed by name over the steps `start(timed=True)` opens."""

    def __init__(self):
        self.spent, self.timed, self.last = defaultdict(float), False, 0.0

    def start(self, timed):
        self.timed, self.last = timed, time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        if self.timed:
            self.spent[name] += now - self.last
        self.last = now


def phases(cfg, arch, split, steps, warmup):
    """{phase: seconds summed over the timed steps}."""
    rng = np.random.default_rng(cfg["seed"])
    params, velocity = train.start(cfg, arch, rng)
    X, y = data.inputs(split, cfg["boundary"])["X"], split["y"].astype(np.int64)
    stream = sampling.batches(y, cfg["batch_size"], rng, cfg["sampling"], cfg["shuffle"])
    lr_at, reg, pad, k = schedule.make(cfg["lr"]), cfg["weight_decay"], arch.d, arch.widths[0]
    laps = Laps()
    for step in range(warmup + steps):
        laps.start(timed=step >= warmup)
        lap = laps.lap
        rows = next(stream)
        Xb, yb = X[rows], y[rows]
        lap("batch: draw and gather")
        mask = layers.dropout_mask(rng, (len(yb), arch.filters[0]), cfg["dropout"], params["W"].dtype)
        lap("dropout mask")
        XT = np.ascontiguousarray(Xb[:, :model.trimmed_length(Xb, pad, k - 1)].T)            # (L, N)
        lap("trim and transpose")
        h, _ = onehot.conv_forward(XT, params["F1"], params["b1"])                            # (Lo, N, n)
        lap("layer 1: tap tables and gathers")
        out = h.max(axis=0)                                                                   # (N, n)
        lap("max over positions")
        at = layers.argmax_positions(h, out)
        lap("positions of the maxima")
        x, relu = layers.relu_forward(out)
        x = x * mask
        scores, cache = layers.affine_forward(x, params["W"], params["b"])
        loss, dscores = layers.softmax_loss(scores, yb)
        grads = {}
        dx, grads["W"], grads["b"] = layers.affine_backward(dscores, cache)
        dh = layers.relu_backward(dx * mask, relu)
        lap("ReLU, dropout, dense, softmax (both ways)")
        grads["F1"], grads["b1"] = onehot.conv_pool_backward(dh, (XT, params["F1"].shape, at))
        lap("layer 1 backward: bincount scatter")
        for key in ("F1", "W"):
            grads[key] += (2 * reg) * params[key]
        momentum_step(params, grads, velocity, params["W"].dtype.type(lr_at(step)),
                      params["W"].dtype.type(cfg["momentum"]))
        lap("weight decay and momentum update")
    return laps.spent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", default="train", help="train (default) or a study.configs name")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--data", default="data/encoded")
    args = ap.parse_args()
    workers.one_thread()
    splits, meta = data.load(args.data)
    cfg, arch = networks.named(args.network, meta, args.params)
    if not (arch.pool and len(arch.filters) == 1 and arch.bias and cfg["dropout"] > 0):
        raise NameCNNError(f"{args.network}: step_phases times a max-pooled one-layer network with biases and "
                           f"dropout (the default's shape), got {len(arch.filters)} layers, pool {arch.pool}")
    cfg = {**cfg, "dtype": "float32"}
    spent = phases(cfg, arch, splits["train"], args.steps, args.warmup)
    print(f"{args.network}: {arch.filters[0]} filters of width {arch.widths[0]}, batch {cfg['batch_size']}, "
          f"float32, one BLAS thread; mean over {args.steps} steps")
    for name, seconds in spent.items():
        print(f"  {name:<44}{1e3 * seconds / args.steps:7.3f} ms")
    print(f"  {'total':<44}{1e3 * sum(spent.values()) / args.steps:7.3f} ms")


if __name__ == "__main__":
    guard(main)
