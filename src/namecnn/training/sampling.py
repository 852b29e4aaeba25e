"""Which training names each step sees: epochs of balanced, square-root or natural samples, cut into batches."""
import numpy as np


def per_class_counts(counts, kind):
    """Names drawn from each class an epoch: the smallest class's count (balanced, the study's), every name
    (natural), or the geometric mean of the two (sqrt: class frequencies go as the square root of their sizes)."""
    counts = np.asarray(counts)
    if kind == "balanced":
        return np.full_like(counts, counts.min())
    if kind == "sqrt":
        return np.round(np.sqrt(counts * counts.min())).astype(counts.dtype)
    return counts


def class_prior(y, n_classes, kind):
    """The class frequencies the batches are drawn with (classes absent from y get 0)."""
    present = np.unique(y)
    m = np.zeros(n_classes)
    m[present] = per_class_counts(np.bincount(y)[present], kind)
    return m / m.sum()


def epoch(by_class, rng, per_class):
    """From every class its `per_class` count of names, drawn without replacement."""
    return np.concatenate([rng.choice(rows, m, replace=False) for rows, m in zip(by_class, per_class, strict=True)])


def batches(y, batch_size, rng, kind="balanced", shuffle=True):
    """Endless stream of index batches of exactly `batch_size`; each epoch is re-drawn and, with
    `shuffle`, re-shuffled; a batch may straddle two epochs."""
    by_class = [np.flatnonzero(y == c) for c in np.unique(y)]
    per_class = per_class_counts([len(rows) for rows in by_class], kind)
    pending = np.empty(0, dtype=np.int64)
    while True:
        while len(pending) < batch_size:
            rows = epoch(by_class, rng, per_class) if kind != "natural" else np.arange(len(y))
            if shuffle:
                rows = rng.permutation(rows)
            pending = np.concatenate([pending, rows])
        yield pending[:batch_size]
        pending = pending[batch_size:]
