"""How honest predicted probabilities are, and the temperature that makes them more so.

The temperature T divides the network's scores before the softmax (an ensemble averages its members' tempered
probabilities); it is fitted by minimising the negative log-likelihood on names the model never trained on, so
the top language keeps its place and only the confidence moves. Measures: NLL, top-label expected calibration
error (ECE, equal-width bins) with a bootstrap interval, the multiclass Brier score, reliability bins, and the
accuracy left when the least confident names are set aside (selective prediction).
"""
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn import metrics

from ..nn import model
from . import conformal

BINS = 10


def tempered(scores, temperature=1.0):
    """Probabilities (N, K) from scores (N, K), or (M, N, K) for M members averaged, at `temperature`."""
    scores = np.asarray(scores, dtype=np.float64)
    P = softmax(scores / temperature, axis=-1)
    return P.mean(axis=0) if P.ndim == 3 else P


def nll(P, y, weights=None):
    return float(metrics.log_loss(y, np.clip(P, 1e-12, 1), labels=np.arange(P.shape[1]), sample_weight=weights))


def fit_temperature(scores, y, weights=None, bounds=(0.05, 20.0)):
    """The T in `bounds` minimising the (weighted) NLL of tempered(scores, T) on labels y (held-out names only)."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)

    def loss(log_t):
        if scores.ndim == 2:
            return -float(np.average(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(y)), y], weights=w))
        return nll(tempered(scores, np.exp(log_t)), y, w)

    found = minimize_scalar(loss, bounds=np.log(bounds), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


def brier(P, y):
    """The multiclass Brier score: the mean over names of the squared distance to the one-hot label."""
    return float(metrics.brier_score_loss(y, P, labels=np.arange(P.shape[1])))


def reliability(P, y, bins=BINS):
    """Equal-width bins of the top probability: [{lo, hi, n, confidence, accuracy}] (empty bins left out)."""
    conf, right = P.max(axis=1), P.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    return [{"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(np.sum(which == b)),
             "confidence": float(conf[which == b].mean()), "accuracy": float(right[which == b].mean())}
            for b in range(bins) if np.any(which == b)]


def ece(P, y, bins=BINS):
    """Top-label expected calibration error: the bins' |accuracy - confidence| weighted by their share."""
    return float(sum(r["n"] * abs(r["accuracy"] - r["confidence"]) for r in reliability(P, y, bins)) / len(y))


def ece_interval(P, y, rng, n_boot=2000, level=0.95, bins=BINS):
    """A percentile bootstrap interval of the ECE over names drawn with replacement."""
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    values = [ece(P[i], y[i], bins) for i in idx]
    return tuple(float(v) for v in np.percentile(values, [50 * (1 - level), 50 * (1 + level)]))


def selective(P, y, coverages=(0.5, 0.8, 1.0)):
    """Accuracy on the most confident share c of the names, for each c: what setting the rest aside buys."""
    order = np.argsort(-P.max(axis=1), kind="stable")
    right = (P.argmax(axis=1) == y)[order]
    return {f"{c:g}": float(right[:max(1, int(round(c * len(y))))].mean()) for c in coverages}


def selective_curve(P, y, points=50):
    """(coverages, accuracies) of `selective` on a grid from 1/points to 1."""
    grid = np.linspace(1 / points, 1, points)
    acc = selective(P, y, grid)
    return grid, np.array([acc[f"{c:g}"] for c in grid])


def ece_floor(P, rng, n_draws=2000, bins=BINS):
    """The ECE a perfectly calibrated model would show on these names: labels drawn from P itself, the median
    over draws. With a few hundred names it is far from 0: the measure's own noise."""
    cum = np.cumsum(P, axis=1)
    draws = [ece(P, np.minimum((rng.random((len(P), 1)) > cum).sum(axis=1), P.shape[1] - 1), bins)
             for _ in range(n_draws)]
    return float(np.median(draws))


def summary(P, y, rng, n_boot, level):
    """NLL, ECE with its interval and its floor, Brier score and selective accuracy of probabilities P on y."""
    lo, hi = ece_interval(P, y, rng, n_boot, level)
    return {"nll": nll(P, y), "ece": ece(P, y), "ece_ci_low": lo, "ece_ci_high": hi, "brier": brier(P, y),
            "ece_floor": ece_floor(P, rng, n_boot),
            "mean_confidence": float(P.max(axis=1).mean()), "accuracy": float(np.mean(P.argmax(axis=1) == y)),
            "selective_acc": selective(P, y)}


def fit(params, X, y, n_classes, coverage, method, prior):
    """What a model carries to answer honestly, fitted on names it never trained on: the temperature, and the
    conformal scores of those names at it with their weights (the sets' threshold follows at any coverage).
    prior "balanced" weighs every language the same, as the validation names do and as a user asking about one
    name without a prior does; "training": the training names' own mix."""
    w = conformal.class_weights(y, n_classes) if prior == "balanced" else np.ones(len(y))
    T = fit_temperature(model.scores(params, X), y, w)
    s = conformal.scores(model.predict_proba(params, X, temperature=T), y, method)
    order = np.argsort(s, kind="stable")
    return {"temperature": T, "names": int(len(y)), "method": method, "coverage": coverage, "prior": prior,
            "scores": [round(float(v), 6) for v in s[order]],
            "weights": [round(float(v), 8) for v in (w / w.sum())[order]]}


def report(P_raw, P, y, fitted, classes, rng, n_boot, level):
    """The model's honesty on labelled names: the summary before (T = 1) and after calibration, both
    reliability tables, the selective-accuracy curve, and its prediction sets at the model's coverage."""
    y = np.asarray(y, dtype=np.int64)
    grid, acc = selective_curve(P, y)
    fitted = fitted or {}
    out = {"temperature": fitted.get("temperature", 1.0), "calibration_names": fitted.get("names", 0),
           "uncalibrated": summary(P_raw, y, rng, n_boot, level), "calibrated": summary(P, y, rng, n_boot, level),
           "reliability": {"uncalibrated": reliability(P_raw, y), "calibrated": reliability(P, y)},
           "selective_curve": {"coverage": grid.round(4).tolist(), "accuracy": acc.round(4).tolist()}}
    if fitted:
        qhat = conformal.threshold(fitted["scores"], fitted["coverage"], fitted["weights"])
        out["sets"] = {"coverage_target": fitted["coverage"], "method": fitted["method"], "threshold": qhat,
                       **conformal.evaluate(conformal.sets(P, qhat, fitted["method"]), y, classes, level)}
    return out


def mlflow_metrics(honest):
    """report's headline as MLflow metrics: val/ece, val/nll, val/brier (and *_uncalibrated), the temperature,
    val/set_coverage and val/set_size."""
    out = {f"val/{k}{'' if kind == 'calibrated' else '_uncalibrated'}": honest[kind][k]
           for kind in ("calibrated", "uncalibrated") for k in ("nll", "ece", "brier")}
    out["calibration/temperature"] = honest["temperature"]
    if "sets" in honest:
        out.update({"val/set_coverage": honest["sets"]["coverage"], "val/set_size": honest["sets"]["mean_size"]})
    return out
