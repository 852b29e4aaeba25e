"""Which training names each step sees: epochs of balanced or natural samples, cut into batches."""
import numpy as np


def balanced_epoch(by_class, rng, per_class):
    """From every class, `per_class` names drawn without replacement (the study: the smallest class's count)."""
    return np.concatenate([rng.choice(rows, per_class, replace=False) for rows in by_class])


def batches(y, batch_size, rng, sampling="balanced", shuffle=True):
    """Endless stream of index batches of exactly `batch_size`; each epoch is re-drawn and, with
    `shuffle`, re-shuffled; a batch may straddle two epochs."""
    by_class = [np.flatnonzero(y == c) for c in np.unique(y)]
    per_class = min(len(rows) for rows in by_class)
    pending = np.empty(0, dtype=np.int64)
    while True:
        while len(pending) < batch_size:
            epoch = balanced_epoch(by_class, rng, per_class) if sampling == "balanced" else np.arange(len(y))
            if shuffle:
                epoch = rng.permutation(epoch)
            pending = np.concatenate([pending, epoch])
        yield pending[:batch_size]
        pending = pending[batch_size:]
