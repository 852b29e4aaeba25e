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
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y, pred, labels=np.arange(len(classes)),
                                                                            zero_division=0)
    return [{"class": c, "support": int(support[i]), "precision": float(precision[i]), "recall": float(recall[i]),
             "accuracy": float(recall[i]), "f1": float(f1[i])} for i, c in enumerate(classes)]


def confusion(y, pred, n_classes):
    return metrics.confusion_matrix(y, pred, labels=np.arange(n_classes))


def unseen(rows, right):
    """Accuracy on the unseen names: all of them, the ones not in the training data, and the ones whose
    training label (if any) agrees, with the conflicting names listed."""
    new = np.array([r["training_label"] == "" for r in rows])
    agree = np.array([r["training_label"] in ("", r["actual"]) for r in rows])
    return {"acc": float(np.mean(right)), "n": len(rows),
            "new_acc": float(np.mean(right[new])), "n_new": int(new.sum()),
            "non_conflicting_acc": float(np.mean(right[agree])), "n_non_conflicting": int(agree.sum()),
            "trained_with_other_label": int((~agree).sum()),
            "conflicting": [r["name"] for r, a in zip(rows, agree, strict=True) if not a]}


def mlflow_metrics(results):
    """Scores as MLflow metric names, grouped by section: val/final_acc, val/acc_ci_low, val/vs_champion,
    train/final_acc, unseen/new_acc (lists and names left out)."""
    out = {}
    for split, r in results.items():
        if split == "external":                       # external.mlflow_metrics names these
            continue
        for k, v in (r or {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if split == "champion":
                if k in ("diff", "low", "high", "p_mcnemar"):
                    out[{"diff": "val/vs_champion"}.get(k, f"val/vs_champion_{k}")] = v
            elif split == "unseen" or k.startswith("acc_ci"):
                out[f"{split}/{k}"] = v
            else:
                out[f"{split}/final_{k}"] = v
    return out


def headline(results, ms_per_step=None):
    """The few figures `dvc exp show` and `dvc metrics show` print (reports/metrics.json), 4 decimals, names
    short enough for a 120-column terminal: validation accuracy (= balanced accuracy: 12 names a class) and its
    interval, the difference to the champion and McNemar's p, the external test's balanced accuracy, the
    training's milliseconds a step."""
    v, c = results["val"], results.get("champion") or {}
    ext = (results.get("external") or {}).get("test") or {}
    out = {"acc": v["acc"], "acc_lo": v["acc_ci_low"], "acc_hi": v["acc_ci_high"], "vs_champ": c.get("diff"),
           "p_champ": c.get("p_mcnemar"), "ext": ext.get("balanced_acc"), "ms_step": ms_per_step}
    out = {k: round(float(x), 4) for k, x in out.items() if x is not None}
    return {**out, "champ_version": c["version"]} if c.get("version") else out
