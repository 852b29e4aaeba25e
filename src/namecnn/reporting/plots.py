"""Figures: training curves, the confusion matrix, the LR range test. Each returns a matplotlib Figure."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import fsio  # noqa: E402


def curves(history):
    steps = [r["step"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(steps, [r["train_loss"] for r in history], label="train (fixed sample)")
    ax1.plot(steps, [r["val_loss"] for r in history], label="validation")
    ax1.set(xlabel="step", ylabel="cross-entropy loss", title="Loss")
    ax2.plot(steps, [r["train_acc"] for r in history], label="train (fixed sample)")
    ax2.plot(steps, [r["val_acc"] for r in history], label="validation")
    ax2.set(xlabel="step", ylabel="accuracy", title="Accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def confusion(cm, classes, title="Validation confusion matrix (rows: actual, normalised)"):
    """Row-normalised confusion matrix as a colour mesh, like the study's figures."""
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(8, 7))
    mesh = ax.pcolormesh(norm, cmap="viridis", vmin=0, vmax=1)
    ticks = np.arange(len(classes)) + 0.5
    ax.set_xticks(ticks, classes, rotation=90)
    ax.set_yticks(ticks, classes)
    ax.invert_yaxis()
    ax.set(xlabel="predicted", ylabel="actual", title=title)
    fig.colorbar(mesh, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def lr_range(rows, suggestion):
    lr = [r["lr"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.semilogx(lr, [r["loss"] for r in rows], alpha=0.3, label="batch")
    ax1.semilogx(lr, [r["loss_smooth"] for r in rows], label="smoothed")
    ax1.set(xlabel="learning rate", ylabel="loss", title="LR range test: loss")
    ax2.semilogx(lr, [r["acc_smooth"] for r in rows], label="smoothed batch accuracy")
    ax2.set(xlabel="learning rate", ylabel="accuracy", title="LR range test: accuracy")
    for ax in (ax1, ax2):
        for key, style in (("min", ":"), ("max", "--")):
            ax.axvline(suggestion[key], color="k", linestyle=style, label=f"suggested {key} {suggestion[key]:.3g}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig, path):
    """Save atomically as PNG and close."""
    with fsio.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def reliability(honest):
    """Reliability diagram: accuracy against confidence per bin, before and after calibration."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    for kind, style in (("uncalibrated", "o-"), ("calibrated", "s-")):
        rows, s = honest["reliability"][kind], honest[kind]
        ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], style,
                label=f"{kind} (ECE {s['ece']:.3f}, NLL {s['nll']:.3f})")
    ax.set(xlabel="confidence (top probability)", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
           title=f"Validation names, T = {honest['temperature']:.2f}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def selective(honest):
    """Accuracy on the most confident share of the names, against that share."""
    c = honest["selective_curve"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(c["coverage"], c["accuracy"])
    ax.set(xlabel="share of names answered (most confident first)", ylabel="accuracy", ylim=(0, 1),
           title="Selective prediction on the validation names")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
