"""Split-conformal prediction sets: for each name, the languages whose probability clears a threshold set on
held-out calibration names, so that the set holds the true language for at least a share `coverage` of names
like them. The guarantee is on average over such names (exchangeable with the calibration names), not for each
name, and says nothing of names from languages outside the classes.

Scores (higher: less conforming): "lac", 1 - p(true class) (Sadinle et al. 2019: the smallest sets on
average); "aps", the probability mass of the classes ranked at or above the true one (Romano et al. 2020: sets
that grow with the model's uncertainty). A set is never empty: the top class is always in it.
"""
import math

import numpy as np

METHODS = ("lac", "aps")


def scores(P, y, method):
    """The nonconformity score of each calibration name's true class, (N,)."""
    p_true = P[np.arange(len(y)), y]
    if method == "lac":
        return 1.0 - p_true
    return np.sum(np.where(p_true[:, None] <= P, P, 0.0), axis=1)


def threshold(cal_scores, coverage, weights=None):
    """The conformal quantile of the calibration scores: the smallest score whose weighted share reaches
    `coverage` once a test name of the largest weight is counted at infinity. With equal weights this is the
    ceil((n + 1) * coverage)-th smallest score (split conformal); with names weighted to the population the sets
    are for (e.g. every language equally common: Tibshirani et al. 2019, under label shift), its weighted
    version. inf (every class) when there are too few calibration names for that coverage."""
    cal_scores = np.asarray(cal_scores, dtype=np.float64)
    w = np.ones(len(cal_scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    order = np.argsort(cal_scores, kind="stable")
    share = np.cumsum(w[order]) / (1 + w.max())
    k = int(np.searchsorted(share, coverage - 1e-9))
    return float(cal_scores[order][k]) if k < len(cal_scores) else math.inf


def class_weights(y, n_classes):
    """Each name weighted by 1 / (its class's count): every class weighs the same."""
    counts = np.bincount(y, minlength=n_classes)
    return 1.0 / counts[y]


def sets(P, qhat, method):
    """Boolean (N, K): the classes in each name's set."""
    if method == "lac":
        member = qhat >= 1.0 - P
    else:
        order = np.argsort(-P, axis=1, kind="stable")
        ranked = np.take_along_axis(P, order, axis=1)
        member = np.zeros_like(P, dtype=bool)                    # a class is in when the mass ranked at or
        np.put_along_axis(member, order, np.cumsum(ranked, axis=1) <= qhat, axis=1)   # above it is at most qhat
    member[np.arange(len(P)), P.argmax(axis=1)] = True
    return member


def evaluate(member, y, classes, level=0.95, top_pairs=5):
    """Empirical coverage with its exact binomial interval, the mean set size overall and per class, and the
    pairs of classes most often in one set together."""
    from scipy.stats import binomtest  # lazy: predict draws sets through this module and never needs it

    covered = member[np.arange(len(y)), y]
    ci = binomtest(int(covered.sum()), len(y)).proportion_ci(level)
    size = member.sum(axis=1)
    per_class = {c: {"n": int(np.sum(y == k)), "mean_size": float(size[y == k].mean()) if np.any(y == k) else None,
                     "coverage": float(covered[y == k].mean()) if np.any(y == k) else None}
                 for k, c in enumerate(classes)}
    together = member.T.astype(np.int64) @ member.astype(np.int64)          # (K, K) names with both in the set
    pairs = sorted(((int(together[a, b]), classes[a], classes[b]) for a in range(len(classes))
                    for b in range(a + 1, len(classes)) if together[a, b]), reverse=True)[:top_pairs]
    return {"coverage": float(covered.mean()), "coverage_ci_low": float(ci.low), "coverage_ci_high": float(ci.high),
            "mean_size": float(size.mean()), "singletons": float(np.mean(size == 1)),
            "size_counts": {int(s): int(np.sum(size == s)) for s in np.unique(size)},
            "per_class": per_class, "pairs": [{"a": a, "b": b, "names": n} for n, a, b in pairs]}
