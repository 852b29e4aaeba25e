"""Smith's LR range test: one short run with the learning rate growing geometrically."""
import numpy as np

from .. import data
from ..nn import model
from . import sampling, schedule, train


def ema(values, beta):
    """Bias-corrected exponential moving average."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out


def sweep(cfg, arch, train_split, rng, lr_start, lr_end, steps, beta=0.98):
    """Train `steps` steps from scratch with lr from lr_start to lr_end; stop once the loss blows up.
    Returns rows {step, lr, loss, acc, loss_smooth, acc_smooth}; acc is the batch's, before its step."""
    params, velocity = train.start(cfg, arch, rng)
    X, y = data.inputs(train_split, cfg["boundary"])["X"], train_split["y"].astype(np.int64)
    stream = sampling.batches(y, cfg["batch_size"], rng, cfg["sampling"], cfg["shuffle"])
    rows, best = [], np.inf
    for t in range(steps):
        idx = next(stream)
        lr = schedule.exponential(t, lr_start, lr_end, steps)
        acc = float((model.loss(params, X[idx]).argmax(axis=1) == y[idx]).mean())
        loss = train.sgd_step(params, velocity, X[idx], y[idx], lr, cfg, rng)
        if not np.isfinite(loss) or loss > 4 * best:
            break
        best = min(best, loss)
        rows.append({"step": t, "lr": lr, "loss": float(loss), "acc": acc})
    for key in ("loss", "acc"):
        for row, s in zip(rows, ema([r[key] for r in rows], beta), strict=True):
            row[f"{key}_smooth"] = s
    return rows


def suggest(rows, rise=0.1):
    """lr.max where the smoothed accuracy peaks; lr.min where it has first risen by `rise` of the way
    from its start to that peak (Smith: 'when the accuracy starts to increase')."""
    acc = np.array([r["acc_smooth"] for r in rows])
    lr = np.array([r["lr"] for r in rows])
    peak = int(acc.argmax())
    start = int(np.argmax(acc >= acc[0] + rise * (acc[peak] - acc[0])))
    return {"min": float(lr[min(start, peak)]), "max": float(lr[peak]), "peak_acc": float(acc[peak]),
            "steps_run": len(rows)}
