"""Layers as pure forward/backward pairs (cs231n style), activations channels-last.

A conv layer has filters F of shape (n, C, k) (n filters spanning all C input rows, width k),
valid, stride 1. Activations are (N, L, C): example, position, channel; flattening (N, L, C) row-major
gives the study's vec() of the C x L matrix (channel index fastest).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse


def onehot_conv_forward(X, F, b=None):
    """First layer on index input: each output sums the k filter columns its characters pick.

    X: (N, L) ints in 0..d, where d (= pad) is an all-zero column; F: (n, d, k); b: (n,) or None.
    The windows' picks form a sparse (N*Lo, k*(d+1)) matrix S with k ones a row, so the gather-sum
    is S @ G and its dual scatter-add is S.T @ dout; no dense one-hot matrix is built.
    Returns out (N, L-k+1, n) and the cache.
    """
    n, d, k = F.shape
    N, L = X.shape
    Lo = L - k + 1
    G = np.zeros((k, d + 1, n), dtype=F.dtype)                  # (k, d+1, n): tap, char, filter
    G[:, :d] = F.transpose(2, 1, 0)
    idx = sliding_window_view(X, k, axis=1) + np.arange(0, k * (d + 1), d + 1)   # (N, Lo, k)
    S = sparse.csr_array((np.ones(N * Lo * k, dtype=F.dtype), idx.reshape(-1),
                          np.arange(0, N * Lo * k + 1, k)), shape=(N * Lo, k * (d + 1)))
    out = S @ G.reshape(k * (d + 1), n)                          # (N*Lo, n)
    if b is not None:
        out += b
    return out.reshape(N, Lo, n), (S, F.shape)


def onehot_conv_backward(dout, cache):
    """dout (N, Lo, n) -> dF (n, d, k), db (n,)."""
    S, (n, d, k) = cache
    d2 = dout.reshape(-1, n)                                     # (N*Lo, n)
    dG = (S.T @ d2).reshape(k, d + 1, n)
    return np.ascontiguousarray(dG[:, :d].transpose(2, 1, 0)), d2.sum(axis=0)


def conv_forward(h, F, b=None):
    """h (N, L, C), F (n, C, k), b (n,) or None -> out (N, L-k+1, n): im2col and one BLAS product."""
    n, C, k = F.shape
    N, L, _ = h.shape
    Lo = L - k + 1
    cols = np.empty((N, Lo, k, C), dtype=h.dtype)                   # (N, Lo, k, C): window, tap, channel
    for t in range(k):
        cols[:, :, t] = h[:, t:t + Lo]
    cols = cols.reshape(N * Lo, k * C)
    Fm = F.transpose(0, 2, 1).reshape(n, k * C)                      # (n, k*C), (t, c) order
    out = cols @ Fm.T                                                # (N*Lo, n)
    if b is not None:
        out += b
    return out.reshape(N, Lo, n), (cols, h.shape, Fm)


def conv_backward(dout, cache):
    """dout (N, Lo, n) -> dh (N, L, C), dF (n, C, k), db (n,)."""
    cols, (N, L, C), Fm = cache
    n = Fm.shape[0]
    k = Fm.shape[1] // C
    Lo = L - k + 1
    d2 = dout.reshape(N * Lo, n)
    dF = (d2.T @ cols).reshape(n, k, C).transpose(0, 2, 1)
    dcols = (d2 @ Fm).reshape(N, Lo, k, C)
    dh = np.empty((N, L, C), dtype=dout.dtype)
    dh[:, :Lo] = dcols[:, :, 0]
    dh[:, Lo:] = 0
    for t in range(1, k):
        dh[:, t:t + Lo] += dcols[:, :, t]
    return dh, np.ascontiguousarray(dF), d2.sum(axis=0)


def relu_forward(x):
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout, cache):
    """Zeroes dout where the input was not positive; dout is overwritten (callers pass a fresh array)."""
    return np.multiply(dout, cache > 0, out=dout)


def maxpool_forward(h):
    """Max over positions: h (N, L, C) -> (N, C), the first maximum on ties."""
    idx = h.argmax(axis=1)                                          # (N, C)
    return np.take_along_axis(h, idx[:, None, :], axis=1)[:, 0, :], (idx, h.shape)


def maxpool_backward(dout, cache):
    """dout (N, C) -> dh (N, L, C), routed to each maximum's position."""
    idx, shape = cache
    dh = np.zeros(shape, dtype=dout.dtype)
    np.put_along_axis(dh, idx[:, None, :], dout[:, None, :], axis=1)
    return dh


def dropout_mask(rng, shape, p, dtype):
    """Inverted dropout: keep with probability 1-p, scale kept units by 1/(1-p)."""
    return (rng.random(shape) >= p).astype(dtype) / dtype.type(1 - p)


def affine_forward(x, W, b):
    """x (N, D), W (D, K), b (K,) -> (N, K)."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def softmax_loss(scores, y):
    """Mean cross-entropy of (N, K) scores against integer labels, and d(loss)/d(scores)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = scores.shape[0]
    loss = -log_probs[np.arange(N), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N


def softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
