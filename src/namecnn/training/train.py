"""The training loop: mini-batch SGD with momentum over balanced or natural batches."""
import sys
import time
import warnings

import numpy as np
from sklearn.metrics import balanced_accuracy_score
from tqdm import tqdm

from .. import data
from ..errors import NameCNNError
from ..nn import layers, model
from . import recipe, sampling, schedule
from .optim import momentum_step

DIVERGED = 50.0        # a batch loss above DIVERGED * ln(n_classes) (chance level) counts as divergence


class Diverged(NameCNNError):
    """The training loss became NaN, infinite, or far above chance level."""


def score(params, X, y, batch=4096):
    """Mean cross-entropy, accuracy and balanced accuracy (every class weighs the same) of `params` on (X, y)."""
    P = model.predict_proba(params, X, batch)
    p_true = np.clip(P[np.arange(len(y)), y], 1e-30, None)
    pred = P.argmax(axis=1)
    with warnings.catch_warnings():               # a sample may lack a class the network predicts: that is fine
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = balanced_accuracy_score(y, pred)
    return float(-np.log(p_true).mean()), float((pred == y).mean()), float(balanced)


def sampling_log_prior(y, n_classes, kind):
    """log of the class prior the batches are drawn with; 0 for a class never drawn, which is not shifted."""
    prior = sampling.class_prior(y, n_classes, kind)
    return np.log(prior, out=np.zeros_like(prior), where=prior > 0)


def adjusted(params, log_prior, tau):
    """Post-hoc logit adjustment (Menon et al., 2021): scores - tau * log prior, i.e. the dense bias shifted.
    With tau = 1, a network fitted under the training prior scores as if every class were equally likely;
    under a uniform prior the shift is a constant and changes nothing."""
    if tau == 0:
        return params
    return {**params, "b": (params["b"] - tau * log_prior).astype(params["b"].dtype)}


def start(cfg, arch, rng):
    """Fresh He-initialised parameters in cfg's dtype and zero momentum: (params, velocity)."""
    params = model.init_params(arch, rng, recipe.DTYPES[cfg["dtype"]], bias_std=cfg["bias_std"])
    return params, {k: np.zeros_like(v) for k, v in params.items()}


def sgd_step(params, velocity, Xb, yb, lr, cfg, rng):
    """One training step as every loop takes it (fit, the LR range test, the bench): a fresh dropout mask,
    loss and gradients, the momentum update. Returns the batch loss; a non-finite loss updates nothing."""
    W = params["W"]
    drop = cfg["dropout"]
    mask = layers.dropout_mask(rng, (len(yb), W.shape[0]), drop, W.dtype) if drop > 0 else None
    loss, grads = model.loss(params, Xb, yb, mask=mask, reg=cfg["weight_decay"], impl=cfg["impl"])
    if np.isfinite(loss):
        momentum_step(params, grads, velocity, W.dtype.type(lr), W.dtype.type(cfg["momentum"]))
    return loss


def fit(cfg, arch, train, val, rng, on_eval=None, progress=None, stop=None):
    """Train from scratch as `cfg` (a resolved train section) says.

    train, val: dicts with X (N, n_len) and y (N,). on_eval(step, metrics) is called every
    `eval_every` steps and at the last one; it may raise to stop (a pruned trial). `stop`, an Event set by
    a signal handler, ends training with KeyboardInterrupt before the next step.
    Returns (params, history), history being the list of metric rows; params and the metrics are those of the
    logit-adjusted network (cfg["logit_adjust"]).
    """
    params, velocity = start(cfg, arch, rng)
    X, y = data.inputs(train, cfg["boundary"])["X"], train["y"].astype(np.int64)
    Xv, yv = data.inputs(val, cfg["boundary"])["X"], val["y"].astype(np.int64)
    sample = np.sort(rng.choice(len(y), min(cfg["train_eval_size"], len(y)), replace=False))
    stream = sampling.batches(y, cfg["batch_size"], rng, cfg["sampling"], cfg["shuffle"])
    lr_at = schedule.make(cfg["lr"])
    log_prior, tau = sampling_log_prior(y, arch.n_classes, cfg["sampling"]), cfg["logit_adjust"]
    steps = cfg["steps"]
    history, limit = [], DIVERGED * np.log(arch.n_classes)
    bar = tqdm(range(1, steps + 1), desc="train", disable=None if progress is None else not progress,
               mininterval=1.0, leave=False)
    lines = progress is None and not sys.stderr.isatty()       # under dvc repro / dvc exp run: no terminal
    tenth, began = max(1, steps // 10), time.perf_counter()
    for step in bar:
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        rows = next(stream)
        lr = lr_at(step - 1)
        loss = sgd_step(params, velocity, X[rows], y[rows], lr, cfg, rng)
        if not np.isfinite(loss) or loss > limit:
            raise Diverged(f"train: the loss diverged at step {step}: it became {loss:.4g} (chance level "
                           f"{np.log(arch.n_classes):.2f}) with learning rate {lr:g}; lower train.lr")
        if step % cfg["eval_every"] == 0 or step == steps:
            scored = adjusted(params, log_prior, tau)
            train_loss, train_acc, _ = score(scored, X[sample], y[sample])
            val_loss, val_acc, val_balanced_acc = score(scored, Xv, yv)
            row = {"step": step, "lr": lr, "batch_loss": float(loss), "train_loss": train_loss,
                   "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc,
                   "val_balanced_acc": val_balanced_acc}
            history.append(row)
            bar.set_postfix(loss=f"{train_loss:.3f}", acc=f"{train_acc:.3f}", val_acc=f"{val_acc:.3f}")
            if on_eval is not None:
                on_eval(step, row)
        if lines and step % tenth == 0 and step < steps:
            spent = time.perf_counter() - began
            val = f"{history[-1]['val_acc']:.3f} at step {history[-1]['step']}" if history else "not yet scored"
            print(f"train: step {step}/{steps} ({100 * step // steps} %), val acc {val}, {spent:.0f} s, about "
                  f"{spent * (steps - step) / step:.0f} s left", flush=True)       # stdout: stderr is for errors
    bar.close()
    return adjusted(params, log_prior, tau), history
