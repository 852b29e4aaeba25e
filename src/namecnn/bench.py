"""Time whole training steps (forward, backward, momentum update) of one implementation."""
import time

import numpy as np
from threadpoolctl import threadpool_limits

from . import model
from .optim import momentum_step


def time_steps(X, y, arch, *, impl, batch, steps, dtype, seed=0, warmup=3, threads=1):
    """Median milliseconds per training step over `steps` timed steps, after `warmup` untimed ones."""
    rng = np.random.default_rng(seed)
    params = model.init_params(arch, rng, dtype=dtype)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    lr, rho = dtype(0.01), dtype(0.9)
    times = []
    with threadpool_limits(threads):
        for i in range(warmup + steps):
            rows = rng.integers(0, len(X), size=batch)
            t0 = time.perf_counter()
            _, grads = model.loss(params, X[rows], y[rows], impl=impl)
            momentum_step(params, grads, velocity, lr, rho)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))
