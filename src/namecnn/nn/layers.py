"""Layers as pure forward/backward pairs (cs231n style), activations positions-first.

A conv layer has filters F of shape (n, C, k) (n filters spanning all C input rows, width k), valid,
stride 1. Activations are (L, N, C): position, example, channel. Tap t of every window is then the
contiguous slab h[t:t+Lo], a (Lo*N, C) matrix, so a conv layer is k matrix products with no im2col copy,
and a max over positions is an elementwise maximum of contiguous (N, C) slabs. `flatten_forward` gives
the dense layer each example's (L, C) block row-major: the study's vec() of its C x L matrix.
"""
import numpy as np


def tap_matrices(F):
    """F (n, C, k) -> W (k, C, n): tap t's weights as a (C, n) matrix."""
    return np.ascontiguousarray(F.transpose(2, 1, 0))


def conv_forward(h, F, b=None):
    """h (L, N, C) contiguous, F (n, C, k), b (n,) or None -> out (L-k+1, N, n): one product per tap."""
    n, C, k = F.shape
    L, N, _ = h.shape
    Lo = L - k + 1
    W = tap_matrices(F)                                               # (k, C, n)
    out = h[:Lo].reshape(Lo * N, C) @ W[0]                            # (Lo*N, n)
    for t in range(1, k):
        out += h[t:t + Lo].reshape(Lo * N, C) @ W[t]
    if b is not None:
        out += b
    return out.reshape(Lo, N, n), (h, W)


def conv_backward(dout, cache):
    """dout (Lo, N, n) -> dh (L, N, C), dF (n, C, k), db (n,)."""
    h, W = cache
    k, C, n = W.shape
    L, N, _ = h.shape
    Lo = L - k + 1
    d2 = np.ascontiguousarray(dout).reshape(Lo * N, n)
    dW = np.empty((k, C, n), dtype=dout.dtype)
    dh = np.empty((L, N, C), dtype=dout.dtype)
    np.matmul(d2, W[0].T, out=dh[:Lo].reshape(Lo * N, C))
    dh[Lo:] = 0
    for t in range(k):
        np.matmul(h[t:t + Lo].reshape(Lo * N, C).T, d2, out=dW[t])   # (C, n)
        if t:
            dh[t:t + Lo] += (d2 @ W[t].T).reshape(Lo, N, C)
    return dh, np.ascontiguousarray(dW.transpose(2, 1, 0)), d2.sum(axis=0)


def relu_forward(x):
    """max(x, 0), in place: x is overwritten (callers pass an array they own)."""
    out = np.maximum(x, 0, out=x)
    return out, out


def relu_backward(dout, cache):
    """Zeroes dout where the input was not positive; dout is overwritten (callers pass a fresh array)."""
    return np.multiply(dout, cache > 0, out=dout)


def maxpool_forward(h):
    """Max over positions: h (L, N, C) -> (N, C), an elementwise maximum of the L slabs."""
    out = h.max(axis=0)
    return out, (h, out)


def argmax_positions(h, out):
    """Where along axis 0 of h (L, N, C) each maximum out (N, C) is: (h == max) times the position, then the
    max of that, three elementwise passes (np.argmax along the outer axis is several times slower). The last
    maximum on ties: tied windows see the same inputs, so their gradients agree."""
    L = h.shape[0]
    pos = np.arange(L, dtype=np.min_scalar_type(L - 1))[:, None, None]          # (L, 1, 1)
    return (np.equal(h, out).view(np.uint8) * pos).max(axis=0)                  # (N, C)


def maxpool_backward(dout, cache):
    """dout (N, C) -> dh (L, N, C), routed to each maximum's position."""
    h, out = cache
    dh = np.zeros(h.shape, dtype=dout.dtype)
    np.put_along_axis(dh, argmax_positions(h, out)[None].astype(np.intp), dout[None], axis=0)
    return dh


def flatten_forward(h):
    """h (L, N, C) -> x (N, L*C), each example's positions in order, channel fastest."""
    L, N, C = h.shape
    return h.transpose(1, 0, 2).reshape(N, L * C), h.shape


def flatten_backward(dx, shape):
    """dx (N, L*C) -> dh (L, N, C), contiguous."""
    L, N, C = shape
    return np.ascontiguousarray(dx.reshape(N, L, C).transpose(1, 0, 2))


def dropout_mask(rng, shape, drop, dtype):
    """Inverted dropout: keep a unit with probability 1-drop, scale kept units by 1/(1-drop).

    A unit's draw is a 16-bit slice of the generator's raw 64-bit output, kept when at least drop * 2**16
    (rounded, so the keep probability is exact to 2**-17): a quarter of the generator calls of one float a
    unit, and no float conversion."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    u = rng.bit_generator.random_raw(-(-size // 4)).view(np.uint16)[:size].reshape(shape)
    return np.multiply(u >= round(drop * 65536), dtype.type(1 / (1 - drop)), dtype=dtype)


def affine_forward(x, W, b):
    """x (N, D), W (D, K), b (K,) -> (N, K)."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def softmax_loss(scores, y):
    """Mean cross-entropy of (N, K) scores against integer labels, and d(loss)/d(scores)."""
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)                             # (N, 1)
    loss = np.log(total).mean() - shifted[np.arange(N), y].mean()
    dscores = np.divide(e, total * N, out=e)
    dscores[np.arange(N), y] -= 1 / N
    return loss, dscores


def softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
