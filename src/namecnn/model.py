"""The ConvNet: parameters, He initialisation and `loss(params, X, y=None)` (cs231n style).

Parameters live in one dict: F1..FL (n_i, C_{i-1}, k_i), optional b1..bL (n_i,), W (D, K), b (K,),
where C_0 = d (alphabet size), L_i = n_len - sum_{j<=i}(k_j - 1) and D = n_L * L_L.
"""
from dataclasses import dataclass

import numpy as np

from . import layers, reference


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


def fast_loss(params, X, y=None, mask=None):
    """Fast path: gather-based first layer, im2col + BLAS above it, no loop over examples."""
    L = n_conv(params)
    h, cache = layers.onehot_conv_forward(X, params["F1"], params.get("b1"))
    caches = [cache]
    h, relu = layers.relu_forward(h)
    relus = [relu]
    for i in range(2, L + 1):
        h, cache = layers.conv_forward(h, params[f"F{i}"], params.get(f"b{i}"))
        caches.append(cache)
        h, relu = layers.relu_forward(h)
        relus.append(relu)
    N = X.shape[0]
    pool = pooled(params, h.shape[1])
    if pool:
        x, pool_cache = layers.maxpool_forward(h)                 # (N, n_L)
    else:
        x = h.reshape(N, -1)                                      # (N, D)
    if mask is not None:
        x = x * mask
    scores, aff = layers.affine_forward(x, params["W"], params["b"])
    if y is None:
        return scores
    loss, dscores = layers.softmax_loss(scores, y)
    grads = {}
    dx, grads["W"], grads["b"] = layers.affine_backward(dscores, aff)
    if mask is not None:
        dx = dx * mask
    dh = layers.maxpool_backward(dx, pool_cache) if pool else dx.reshape(h.shape)
    for i in range(L, 1, -1):
        dh = layers.relu_backward(dh, relus[i - 1])
        dh, grads[f"F{i}"], db = layers.conv_backward(dh, caches[i - 1])
        if f"b{i}" in params:
            grads[f"b{i}"] = db
    dh = layers.relu_backward(dh, relus[0])
    grads["F1"], db = layers.onehot_conv_backward(dh, caches[0])
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
    data_loss += reg * sum(float(np.sum(params[k] ** 2)) for k in weights)
    for k in weights:
        grads[k] = grads[k] + 2 * reg * params[k]
    return data_loss, grads


def predict_proba(params, X, batch=2048):
    """Softmax probabilities (N, K), in batches."""
    return np.concatenate([layers.softmax(loss(params, X[i:i + batch]))
                           for i in range(0, len(X), batch)]) if len(X) else np.zeros((0, params["b"].size))
