"""Two models on the same names: the accuracy difference with a paired bootstrap interval and McNemar's exact
p-value (scipy), and the names each got right that the other did not."""
import numpy as np
from scipy import stats

from ..errors import NameCNNError


def paired(a_right, b_right, rng, n_boot=2000, level=0.95):
    """A's accuracy minus B's on the same names, from two 0/1 vectors (N,).

    The interval resamples names (pairs), so what both models get right or wrong together does not widen it;
    p is McNemar's exact test: under "equally good", the names only A gets right are Binomial(discordant, 1/2).
    """
    a, b = np.asarray(a_right, dtype=bool), np.asarray(b_right, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"paired comparison needs two equal-length vectors, got {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    diff = float(a.mean() - b.mean())
    if only_a + only_b == 0:                  # the same names right: every resample gives 0
        lo = hi = 0.0
        p_value = 1.0
    else:
        res = stats.bootstrap((a.astype(float), b.astype(float)),
                              lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
                              paired=True, vectorized=True, n_resamples=n_boot, confidence_level=level,
                              method="percentile", rng=rng)
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        p_value = float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return {"diff": diff, "low": lo, "high": hi, "p_mcnemar": p_value, "n": len(a), "only_a": only_a, "only_b": only_b,
            "level": level}


def by_name(a, b, rng, n_boot=2000, level=0.95):
    """Two models' predictions {name: (actual, predicted)} compared on the names both scored (matched by name,
    in A's order): `paired`, plus each model's accuracy there and the names only A / only B gets right."""
    names = [n for n in a if n in b]
    if not names:
        raise NameCNNError("the two models share no scored names")
    right_a = np.array([a[n][0] == a[n][1] for n in names])
    right_b = np.array([b[n][0] == b[n][1] for n in names])
    return {**paired(right_a, right_b, rng, n_boot, level), "acc_a": float(right_a.mean()),
            "acc_b": float(right_b.mean()),
            "names_only_a": [n for n, x, y in zip(names, right_a, right_b, strict=True) if x and not y],
            "names_only_b": [n for n, x, y in zip(names, right_a, right_b, strict=True) if y and not x]}


def verdict(c, a="A", b="B"):
    """One line: the difference in points, its interval, p, and whether it is more than noise."""
    pts = 100 * c["diff"]
    lvl = round(100 * c["level"])
    if c["only_a"] + c["only_b"] == 0:
        return f"{a} and {b} get the same {c['n']} names right"
    sure = c["low"] > 0 or c["high"] < 0
    word = ("better than" if pts > 0 else "worse than") if sure else "not distinguishable from"
    return (f"{a} is {word} {b}: {pts:+.1f} points ({lvl}% paired bootstrap {100 * c['low']:+.1f} to "
            f"{100 * c['high']:+.1f}), McNemar p = {c['p_mcnemar']:.3g}; {names(c['only_a'])} only {a} gets right, "
            f"{c['only_b']} only {b}, of {c['n']}")


def names(n):
    return f"{n} name" if n == 1 else f"{n} names"
