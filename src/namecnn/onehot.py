"""The first conv layer on character indices, never building the one-hot input (forward/backward pairs).

X (N, L) holds indices 0..d, d being the pad, an all-zero one-hot column. The layer's filters F (n, d, k)
are held as tap tables G (k, d+1, n): row c of G[t] is the column character c adds at tap t (the pad row
zero, the bias in every row of tap 0, since every window has exactly one tap-0 character). A window's output
is then k gathered rows summed, and the filter gradient a scatter-add of output gradients into those rows.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse

from .layers import argmax_positions


def tap_tables(F, b=None):
    """F (n, d, k), b (n,) or None -> G (k, d+1, n)."""
    n, d, k = F.shape
    G = np.zeros((k, d + 1, n), dtype=F.dtype)
    G[:, :d] = F.transpose(2, 1, 0)
    if b is not None:
        G[0] += b
    return G


def conv_forward(X, F, b=None):
    """X (N, L), F (n, d, k), b (n,) or None -> out (N, L-k+1, n) and the cache (X, F's shape): k row
    gathers from the tap tables and their sum. (Gathering taps 0 and 1 at once from a table of character
    pairs, or chunking the batch to stay in cache, measured no faster here.)"""
    k = F.shape[2]
    Lo = X.shape[1] - k + 1
    G = tap_tables(F, b)
    out = np.take(G[0], X[:, :Lo], axis=0)                                       # (N, Lo, n)
    for t in range(1, k):
        out += np.take(G[t], X[:, t:t + Lo], axis=0)
    return out, (X, F.shape)


def table_grads(dG, d, dtype):
    """dG (k, d+1, n) of the tap tables -> dF (n, d, k) in `dtype`; the pad row is no parameter."""
    return np.ascontiguousarray(dG[:, :d].transpose(2, 1, 0), dtype=dtype)


def conv_backward(dout, cache):
    """dout (N, Lo, n) -> dF (n, d, k), db (n,).

    The scatter-add of dout's rows into the tap tables is S.T @ dout, S the (N*Lo, k*(d+1)) matrix with k ones
    a row (each window's characters): scipy's CSR product does it in C, which measured faster here than
    np.add.at, np.bincount per filter, sorting with np.add.reduceat or a dense one-hot product.
    """
    X, (n, d, k) = cache
    N, Lo, _ = dout.shape
    idx = sliding_window_view(X, k, axis=1) + np.arange(0, k * (d + 1), d + 1)    # (N, Lo, k)
    S = sparse.csr_array((np.ones(N * Lo * k, dtype=dout.dtype), idx.reshape(-1),
                          np.arange(0, N * Lo * k + 1, k)), shape=(N * Lo, k * (d + 1)))
    d2 = dout.reshape(-1, n)                                                   # (N*Lo, n)
    dG = (S.T @ d2).reshape(k, d + 1, n)
    return table_grads(dG, d, dout.dtype), d2.sum(axis=0)


def conv_pool_forward(X, F, b=None, positions=True):
    """The layer and a max over positions at once: X (N, L) -> (N, n), before ReLU (max and ReLU commute),
    and the cache with where each maximum is, for the backward pass (`positions=False` skips finding them)."""
    h, (X, shape) = conv_forward(X, F, b)                                        # (N, Lo, n)
    out = h.max(axis=1)                                                          # (N, n)
    return out, (X, shape, argmax_positions(h, out) if positions else None)


def conv_pool_backward(dout, cache):
    """dout (N, n) -> dF (n, d, k), db (n,).

    Only each filter's maximal window gets gradient, so the scatter-add is one np.bincount per tap of the
    N*n (character, filter) pairs at those windows; the (N, Lo, n) gradient is never built. (Dropping the
    zero entries first measured slower: np.nonzero and the 2-D gathers cost more than they save.)
    """
    X, (n, d, k), at = cache
    N, L = X.shape
    first = at + np.arange(0, N * L, L)[:, None]                                 # (N, n): flat index of tap 0
    char_bin = X.reshape(-1).astype(np.intp) * n
    filt = np.arange(n)
    w = dout.reshape(-1).astype(np.float64)
    dG = np.empty((k, d + 1, n))
    for t in range(k):
        bins = np.take(char_bin, first + t)                                      # (N, n)
        bins += filt
        dG[t] = np.bincount(bins.reshape(-1), w, minlength=(d + 1) * n).reshape(d + 1, n)
    return table_grads(dG, d, dout.dtype), dout.sum(axis=0)
