"""The first conv layer on character indices, never building the one-hot input (forward/backward pairs).

XT (L, N) holds indices 0..d positions-first (layers.py's layout), d being the pad, an all-zero one-hot
column. The layer's filters F (n, d, k) are held as tap tables G (k, d+1, n): row c of G[t] is the column
character c adds at tap t (the pad row zero, the bias in every row of tap 0, since every window has exactly
one tap-0 character). A window's output is then k gathered rows summed, and the filter gradient a
scatter-add of output gradients into those rows.
"""
import numpy as np
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


def conv_forward(XT, F, b=None):
    """XT (L, N), F (n, d, k), b (n,) or None -> out (L-k+1, N, n) and the cache (XT, F's shape): k row
    gathers from the tap tables and their sum, each tap's characters a contiguous slice of XT."""
    k = F.shape[2]
    Lo = XT.shape[0] - k + 1
    G = tap_tables(F, b)
    out = np.take(G[0], XT[:Lo], axis=0)                                        # (Lo, N, n)
    for t in range(1, k):
        out += np.take(G[t], XT[t:t + Lo], axis=0)
    return out, (XT, F.shape)


def table_grads(dG, d, dtype):
    """dG (k, d+1, n) of the tap tables -> dF (n, d, k) in `dtype`; the pad row is no parameter."""
    return np.ascontiguousarray(dG[:, :d].transpose(2, 1, 0), dtype=dtype)


def conv_backward(dout, cache):
    """dout (Lo, N, n) -> dF (n, d, k), db (n,).

    The scatter-add of dout's rows into the tap tables is S.T @ dout, S the (Lo*N, k*(d+1)) matrix with k
    ones a row (each window's characters). S.T is built directly as a CSC matrix, whose arrays are S's as
    CSR, and scipy's product does the scatter in C: faster here than np.add.at, sorting with
    np.add.reduceat, or one-hot matrix products.
    """
    XT, (n, d, k) = cache
    Lo, N, _ = dout.shape
    flat = XT.reshape(-1)
    rows = np.empty((Lo * N, k), dtype=np.int32)                                # (Lo*N, k): S's column per tap
    for t in range(k):
        np.add(flat[t * N:(t + Lo) * N], t * (d + 1), out=rows[:, t], dtype=np.int32)
    St = sparse.csc_array((np.ones(Lo * N * k, dtype=dout.dtype), rows.reshape(-1),
                           np.arange(0, Lo * N * k + 1, k, dtype=np.int32)), shape=(k * (d + 1), Lo * N))
    d2 = dout.reshape(Lo * N, n)
    dG = (St @ d2).reshape(k, d + 1, n)
    return table_grads(dG, d, dout.dtype), d2.sum(axis=0)


def conv_pool_forward(XT, F, b=None, positions=True):
    """The layer and a max over positions at once: XT (L, N) -> (N, n), before ReLU (max and ReLU commute),
    and the cache with where each maximum is, for the backward pass (`positions=False` skips finding them)."""
    h, (XT, shape) = conv_forward(XT, F, b)                                     # (Lo, N, n)
    out = h.max(axis=0)                                                         # (N, n)
    return out, (XT, shape, argmax_positions(h, out) if positions else None)


def conv_pool_backward(dout, cache):
    """dout (N, n) -> dF (n, d, k), db (n,).

    Only each filter's maximal window gets gradient, so the scatter-add is one np.bincount of the k*N*n
    (filter, character, tap) triples at those windows, binned in F's own (n, d+1, k) order so that dF is a
    slice of the counts; the (Lo, N, n) gradient is never built. (Dropping the zero entries first measured
    slower: np.nonzero and the 2-D gathers cost more than they save.)
    """
    XT, (n, d, k), at = cache
    N = XT.shape[1]
    first = at.astype(np.intp) * N + np.arange(N)[:, None]                      # (N, n): flat index of tap 0
    taps = first + (N * np.arange(k))[:, None, None]                            # (k, N, n): of each tap
    bins = np.take(XT.reshape(-1).astype(np.intp) * k, taps)                    # character * k
    bins += (np.arange(n) * ((d + 1) * k))[None, None, :] + np.arange(k)[:, None, None]
    w = np.broadcast_to(dout.astype(np.float64), (k, N, n))
    dG = np.bincount(bins.reshape(-1), w.reshape(-1), minlength=n * (d + 1) * k).reshape(n, d + 1, k)
    return dG[:, :d].astype(dout.dtype), dout.sum(axis=0)
