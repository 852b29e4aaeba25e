"""Scores of a trained model on labelled names (scikit-learn metrics) and a bootstrap interval."""
import numpy as np
from sklearn import metrics


def scores(P, y, n_classes):
    """Accuracy, loss, balanced accuracy, top-3 accuracy and macro-F1 of probabilities P (N, K)."""
    labels = np.arange(n_classes)
    pred = P.argmax(axis=1)
    return {"acc": float(metrics.accuracy_score(y, pred)),
            "loss": float(metrics.log_loss(y, np.clip(P, 1e-15, 1), labels=labels)),
            "balanced_acc": float(metrics.balanced_accuracy_score(y, pred)),
            "top3_acc": float(metrics.top_k_accuracy_score(y, P, k=3, labels=labels)),
            "macro_f1": float(metrics.f1_score(y, pred, labels=labels, average="macro", zero_division=0))}


def bootstrap_ci(correct, rng, n_boot=2000, level=0.95):
    """Percentile bootstrap interval for the mean of a 0/1 vector (accuracy)."""
    correct = np.asarray(correct, dtype=float)
    means = correct[rng.integers(0, len(correct), size=(n_boot, len(correct)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def per_class(y, pred, classes):
    """Rows of class, support, precision, recall (= the class's accuracy) and F1."""
    p, r, f, s = metrics.precision_recall_fscore_support(y, pred, labels=np.arange(len(classes)), zero_division=0)
    return [{"class": c, "support": int(s[i]), "precision": float(p[i]), "recall": float(r[i]),
             "accuracy": float(r[i]), "f1": float(f[i])} for i, c in enumerate(classes)]


def confusion(y, pred, n_classes):
    return metrics.confusion_matrix(y, pred, labels=np.arange(n_classes))
