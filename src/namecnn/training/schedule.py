"""Learning-rate schedules: step t (0-based) -> learning rate."""
import numpy as np


def cyclic(t, lr_min, lr_max, step_size):
    """Smith's triangular cycle: lr_min at t = 0, lr_max at t = step_size, lr_min again at 2*step_size."""
    x = abs(t / step_size - 2 * np.floor(t / (2 * step_size)) - 1)
    return lr_min + (lr_max - lr_min) * max(0.0, 1.0 - x)


def exponential(t, lr_start, lr_end, steps):
    """The LR range test's ramp: lr_start at t = 0 growing geometrically to lr_end at t = steps - 1."""
    return lr_start * (lr_end / lr_start) ** (t / max(steps - 1, 1))


def make(lr):
    """A params.yaml `lr` mapping ({kind: cyclic, min, max, step_size} or {kind: constant, value}) -> t -> lr."""
    if lr["kind"] == "cyclic":
        return lambda t: cyclic(t, lr["min"], lr["max"], lr["step_size"])
    value = lr["value"]
    return lambda t: value
