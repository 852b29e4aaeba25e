"""Time training steps as the training loop pays them, beside the arithmetic they do and the machine's roofline."""
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .. import data
from . import sampling, schedule, train

NETWORK_KEYS = ("boundary", "filters", "widths", "bias", "pool", "dropout", "weight_decay", "batch_size", "sampling")


def step_flops(arch, batch):
    """Useful arithmetic of one training step (forward and backward), in floating-point operations.

    Conv layers above the first and the dense layer count 2 per multiply-add (forward, and both gradients
    backward); the first layer counts its gather-sums as one addition per tap, filter and window (the one-hot
    products it never does are not counted), and a pooled one-layer network's backward only the maximal windows.
    """
    N, K = batch, arch.n_classes
    Lo, n1, k1 = arch.lengths[0], arch.filters[0], arch.widths[0]
    flops = N * Lo * k1 * n1                                               # layer 1 forward
    flops += N * k1 * n1 * (1 if arch.pool and len(arch.filters) == 1 else Lo)   # layer 1 backward
    for C, n, k, L in zip(arch.filters[:-1], arch.filters[1:], arch.widths[1:], arch.lengths[1:], strict=True):
        flops += 3 * 2 * N * L * k * C * n                                 # forward, dF, dh
    flops += 3 * 2 * N * arch.dense_in * K                                  # scores, dW, dx
    return flops


def time_training(cfg, arch, split, steps, warmup=20, threads=1):
    """Milliseconds of each of `steps` training steps after `warmup` untimed ones, each timed from drawing its
    batch (sampling stream, gather of the rows) through the dropout mask, loss, gradients and momentum update:
    train.fit's loop without its periodic evaluation. One BLAS thread by default."""
    rng = np.random.default_rng(cfg["seed"])
    params, velocity = train.start(cfg, arch, rng)
    X, y = data.inputs(split, cfg["boundary"])["X"], split["y"].astype(np.int64)
    stream = sampling.batches(y, cfg["batch_size"], rng, cfg["sampling"], cfg["shuffle"])
    lr_at = schedule.make(cfg["lr"])
    times = np.empty(warmup + steps)
    with threadpool_limits(threads):
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            rows = next(stream)
            train.sgd_step(params, velocity, X[rows], y[rows], lr_at(i), cfg, rng)
            times[i] = time.perf_counter() - t0
    return 1e3 * times[warmup:]


def matmul_gflops(dtype=np.float32, n=1024, repeats=5, threads=1):
    """The machine's single-thread matrix-multiply speed (an n x n product, best of `repeats`): the roofline
    a training step's arithmetic could at best run at."""
    rng = np.random.default_rng(0)
    A, B = rng.random((n, n), dtype=dtype), rng.random((n, n), dtype=dtype)
    best = np.inf
    with threadpool_limits(threads):
        A @ B
        for _ in range(repeats):
            t0 = time.perf_counter()
            A @ B
            best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def summarise(times_ms, arch, batch):
    """mean and median ms per step (with the 10th and 90th percentiles) and the achieved GFLOP/s at the mean."""
    flops = step_flops(arch, batch)
    mean = float(np.mean(times_ms))
    return {"mean_ms": mean, "median_ms": float(np.median(times_ms)), "p10_ms": float(np.percentile(times_ms, 10)),
            "p90_ms": float(np.percentile(times_ms, 90)), "steps": len(times_ms), "mflop_per_step": flops / 1e6,
            "gflops": flops / (mean / 1e3) / 1e9}
