"""Layers as pure forward/backward pairs (cs231n style), activations channels-last.

A conv layer has filters F of shape (n, C, k) (n filters spanning all C input rows, width k),
valid, stride 1. Activations are (N, L, C): example, position, channel; flattening (N, L, C) row-major
gives the study's vec() of the C x L matrix (channel index fastest).
"""
import numpy as np


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
    """max(x, 0), in place: x is overwritten (callers pass an array they own)."""
    out = np.maximum(x, 0, out=x)
    return out, out


def relu_backward(dout, cache):
    """Zeroes dout where the input was not positive; dout is overwritten (callers pass a fresh array)."""
    return np.multiply(dout, cache > 0, out=dout)


def maxpool_forward(h):
    """Max over positions: h (N, L, C) -> (N, C); `max` runs along the contiguous channel axis."""
    out = h.max(axis=1)
    return out, (h, out)


def argmax_positions(h, out):
    """Where along axis 1 of h (N, L, C) each maximum out (N, C) is: h == max weighted by the position, then
    the max of that, all along the contiguous channel axis (np.argmax over a strided axis is several times
    slower). The last maximum on ties: tied windows see the same inputs, so their gradients agree."""
    L = h.shape[1]
    pos = np.arange(L, dtype=np.min_scalar_type(L - 1))[:, None]                # (L, 1)
    return np.multiply(h == out[:, None, :], pos, dtype=pos.dtype).max(axis=1)


def maxpool_backward(dout, cache):
    """dout (N, C) -> dh (N, L, C), routed to each maximum's position."""
    h, out = cache
    dh = np.zeros(h.shape, dtype=dout.dtype)
    np.put_along_axis(dh, argmax_positions(h, out)[:, None, :].astype(np.intp), dout[:, None, :], axis=1)
    return dh


def dropout_mask(rng, shape, drop, dtype):
    """Inverted dropout: keep with probability 1-drop, scale kept units by 1/(1-drop)."""
    dtype = np.dtype(dtype)
    keep = rng.random(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float64) >= drop
    return np.multiply(keep, dtype.type(1 / (1 - drop)), dtype=dtype)


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
