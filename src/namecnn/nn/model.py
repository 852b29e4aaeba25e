"""The ConvNet: parameters, He initialisation and `loss(params, X, y=None)` (cs231n style).

Parameters live in one dict: F1..FL (n_i, C_{i-1}, k_i), optional b1..bL (n_i,), W (D, K), b (K,),
where C_0 = d (alphabet size), L_i = n_len - sum_{j<=i}(k_j - 1) and D = n_L * L_L.
"""
from dataclasses import dataclass

import numpy as np

from . import layers, onehot, reference


@dataclass(frozen=True)
class Arch:
    d: int                  # alphabet size (rows of the one-hot input)
    n_len: int              # padded name length
    n_classes: int
    filters: tuple          # n_i
    widths: tuple           # k_i
    bias: bool = True
    pool: bool = False      # max over positions after the last conv layer (dense input n_L, not n_L * L_L)

    @property
    def lengths(self):
        """Output length of each conv layer."""
        return tuple(self.n_len - int(np.sum(np.array(self.widths[:i + 1]) - 1))
                     for i in range(len(self.widths)))

    @property
    def dense_in(self):
        return self.filters[-1] * (1 if self.pool else self.lengths[-1])


def init_params(arch, rng, dtype=np.float64, bias_std=0.0):
    """He-initialised filters and dense weights; biases zero, or N(0, bias_std) when bias_std > 0."""
    params, c_in = {}, arch.d
    for i, (n, k) in enumerate(zip(arch.filters, arch.widths, strict=True), 1):
        params[f"F{i}"] = rng.normal(0.0, np.sqrt(2.0 / (c_in * k)), size=(n, c_in, k))
        if arch.bias:
            params[f"b{i}"] = rng.normal(0.0, bias_std, size=n) if bias_std > 0 else np.zeros(n)
        c_in = n
    params["W"] = rng.normal(0.0, np.sqrt(2.0 / arch.dense_in), size=(arch.dense_in, arch.n_classes))
    params["b"] = np.zeros(arch.n_classes)
    return {k: v.astype(dtype) for k, v in params.items()}


def n_conv(params):
    return sum(1 for k in params if k.startswith("F"))


def pooled(params, L_last):
    """Whether the network max-pools over positions: its dense layer then takes n_L inputs, not n_L * L_L
    (the two agree when L_L = 1, where the max over one position changes nothing)."""
    return params["W"].shape[0] != params[f"F{n_conv(params)}"].shape[0] * L_last


def trimmed_length(X, pad, reach):
    """Columns of X a max-pooled network needs: every window past a name's last character sees pads only and
    scores the same, so the windows after the batch's longest name add nothing but one more such window."""
    used = np.flatnonzero((pad != X).any(axis=0))
    windows = min(X.shape[1] - reach, used[-1] + 2 if len(used) else 1)
    return windows + reach


def fast_loss(params, X, y=None, mask=None):
    """Fast path: gather first layer, one product per tap above it, positions-first activations (layers.py).

    With pooling, the last layer's ReLU runs after the max over positions (max and ReLU commute), on
    (N, n_L) instead of (L_L, N, n_L), and the input is cut after the batch's longest name (trimmed_length);
    a one-layer pooled network takes the fused first layer and pool (onehot.conv_pool_*), whose backward
    scatters from the maximal windows alone.
    """
    L = n_conv(params)
    reach = sum(params[f"F{i}"].shape[2] - 1 for i in range(1, L + 1))     # a last-layer window sees reach+1
    pool = pooled(params, X.shape[1] - reach)
    if pool:
        X = X[:, :trimmed_length(X, params["F1"].shape[1], reach)]
    XT = np.ascontiguousarray(X.T)                                          # (n_len, N)
    if pool and L == 1:
        h, cache = onehot.conv_pool_forward(XT, params["F1"], params.get("b1"), positions=y is not None)
    else:
        h, cache = onehot.conv_forward(XT, params["F1"], params.get("b1"))     # (L_1, N, n_1)
    caches, relus = [cache], []
    for i in range(2, L + 1):
        h, relu = layers.relu_forward(h)
        relus.append(relu)
        h, cache = layers.conv_forward(h, params[f"F{i}"], params.get(f"b{i}"))  # (L_i, N, n_i)
        caches.append(cache)
    if pool and L > 1:
        h, pool_cache = layers.maxpool_forward(h)                   # (N, n_L)
    elif not pool:
        h, shape = layers.flatten_forward(h)                        # (N, L_L * n_L)
    x, relu = layers.relu_forward(h)                                # (N, D)
    relus.append(relu)
    if mask is not None:
        x = x * mask
    scores, aff = layers.affine_forward(x, params["W"], params["b"])
    if y is None:
        return scores
    loss, dscores = layers.softmax_loss(scores, y)
    grads = {}
    dx, grads["W"], grads["b"] = layers.affine_backward(dscores, aff)
    if mask is not None:
        dx *= mask
    dh = layers.relu_backward(dx, relus[-1])
    if pool and L == 1:
        grads["F1"], db = onehot.conv_pool_backward(dh, caches[0])
    else:
        dh = layers.maxpool_backward(dh, pool_cache) if pool else layers.flatten_backward(dh, shape)
        for i in range(L, 1, -1):
            dh, grads[f"F{i}"], db = layers.conv_backward(dh, caches[i - 1])
            if f"b{i}" in params:
                grads[f"b{i}"] = db
            dh = layers.relu_backward(dh, relus[i - 2])
        grads["F1"], db = onehot.conv_backward(dh, caches[0])
    if "b1" in params:
        grads["b1"] = db
    return loss, grads


IMPLS = {"fast": fast_loss, "reference": reference.loss}


def loss(params, X, y=None, *, mask=None, reg=0.0, impl="fast"):
    """Scores (N, K) when y is None, else (loss, grads keyed like params).

    X: (N, n_len) character indices, pad = d. mask: (N, D) inverted-dropout mask on the dense input
    (training only). reg: L2 weight decay on filters and W, added to loss and gradients. Whether the
    network max-pools over positions follows from W's shape (see `pooled`).
    """
    out = IMPLS[impl](params, X, y, mask)
    if y is None or reg == 0.0:
        return out
    data_loss, grads = out
    weights = [k for k in params if k.startswith("F") or k == "W"]
    data_loss += reg * sum(float(np.vdot(params[k], params[k])) for k in weights)
    for k in weights:
        grads[k] += (2 * reg) * params[k]                        # the gradients are fresh arrays: in place
    return data_loss, grads


def predict_proba(params, X, batch=2048, temperature=1.0):
    """Softmax probabilities (N, K) of the scores divided by `temperature`, in batches. `params` may be a list
    of members' params (a seed ensemble): their probabilities averaged."""
    if isinstance(params, list):
        return np.mean([predict_proba(p, X, batch, temperature) for p in params], axis=0)
    return np.concatenate([layers.softmax(loss(params, X[i:i + batch]) / temperature)
                           for i in range(0, len(X), batch)]) if len(X) else np.zeros((0, params["b"].size))


def scores(params, X, batch=2048):
    """Scores (N, K), or (M, N, K) for a list of M members, in batches."""
    if isinstance(params, list):
        return np.stack([scores(p, X, batch) for p in params])
    return np.concatenate([loss(params, X[i:i + batch]) for i in range(0, len(X), batch)])
