"""Numerical gradient check: centred differences against the analytic gradients of `model.loss`."""
import numpy as np

from . import layers, model, onehot


def relu_pattern(params, X):
    """Which conv pre-activations are positive: where ReLU's kinks lie for this batch."""
    h, _ = onehot.conv_forward(np.ascontiguousarray(X.T), params["F1"], params.get("b1"))
    signs = [h > 0]
    for i in range(2, model.n_conv(params) + 1):
        h, _ = layers.conv_forward(np.maximum(h, 0), params[f"F{i}"], params.get(f"b{i}"))
        signs.append(h > 0)
    return np.concatenate([s.ravel() for s in signs])


def numerical_grad(f, x, entries, h=1e-5, pattern=None):
    """Centred-difference d f / d x at the flat `entries` of x (perturbed in place, then restored).

    With `pattern`, also flags the entries whose x-h and x+h fall on two sides of a ReLU kink, where
    the centred difference is not the derivative. Returns (gradients, kink flags).
    """
    flat = x.reshape(-1)
    grad, kink = np.empty(len(entries)), np.zeros(len(entries), dtype=bool)
    for j, e in enumerate(entries):
        old = flat[e]
        flat[e] = old + h
        fp, sp = f(), pattern() if pattern else None
        flat[e] = old - h
        fm, sm = f(), pattern() if pattern else None
        flat[e] = old
        grad[j] = (fp - fm) / (2 * h)
        kink[j] = pattern is not None and not np.array_equal(sp, sm)
    return grad, kink


def rel_error(a, b, floor=1e-12):
    """|a-b| / max(|a|, |b|) elementwise; the floor only keeps 0/0 (an unused parameter) at 0."""
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)


def check(params, X, y, rng, *, mask=None, reg=0.0, h=1e-5, max_entries=200, impl="fast",
          numeric_dtype=np.longdouble, grads=None):
    """Compare analytic and numerical gradients for every parameter array.

    The analytic gradients are those of `params` as given (float64 in the stage). The centred
    differences evaluate the same loss on a copy in `numeric_dtype`: extended precision keeps their
    roundoff (~eps*loss/h, 3e-11 in float64) below the tolerance for small gradient entries too.
    Arrays with at most `max_entries` entries are checked in full, larger ones at a sample of that
    many entries drawn from `rng`. Entries whose perturbation crosses a ReLU kink are counted as
    `kinks` and left out of the errors. `grads` overrides the analytic gradients (to show that a
    wrong one is caught). Returns {param: {max_rel_error, mean_abs_diff, mean_diff, entries, kinks}}.
    """
    if grads is None:
        _, grads = model.loss(params, X, y, mask=mask, reg=reg, impl=impl)
    num_params = {k: v.astype(numeric_dtype) for k, v in params.items()}
    num_mask = None if mask is None else mask.astype(numeric_dtype)

    def f():
        return model.loss(num_params, X, y, mask=num_mask, reg=reg, impl=impl)[0]

    def pattern():
        return relu_pattern(num_params, X)

    table = {}
    for key, w in params.items():
        entries = (np.arange(w.size) if w.size <= max_entries
                   else np.sort(rng.choice(w.size, max_entries, replace=False)))
        num, kink = numerical_grad(f, num_params[key], entries, h, pattern)
        ana = grads[key].reshape(-1)[entries]
        ok = ~kink
        table[key] = {"max_rel_error": float(rel_error(ana[ok], num[ok]).max(initial=0.0)),
                      "mean_abs_diff": float(np.abs(ana[ok] - num[ok]).mean()) if ok.any() else 0.0,
                      "mean_diff": float((ana[ok] - num[ok]).mean()) if ok.any() else 0.0,
                      "entries": int(ok.sum()), "kinks": int(kink.sum())}
    return table
