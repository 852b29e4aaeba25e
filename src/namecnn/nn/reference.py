"""The study's plain method (DD2424 assignment 3), kept as the slow reference.

Per example j, each layer's input is a C x L matrix H (layer 1: the dense d x n_len one-hot matrix)
and vec() stacks its columns. The forward pass multiplies by MF (built from the filters, once per
batch); the filter gradient multiplies by MX, the dense (Lo*n, k*C*n) matrix built from each
example's input every batch: s = MX vec(F_all) = MF vec(H).
"""
import numpy as np


def vec(A):
    return A.ravel(order="F")


def make_mf(F, L):
    """F (n, C, k) -> MF (Lo*n, L*C) with MF @ vec(H) = vec(conv(H))."""
    n, C, k = F.shape
    Lo = L - k + 1
    filt = np.stack([vec(F[f]) for f in range(n)])               # (n, k*C)
    MF = np.zeros((Lo * n, L * C), dtype=F.dtype)
    for pos in range(Lo):
        MF[pos * n:(pos + 1) * n, pos * C:(pos + k) * C] = filt
    return MF


def make_mx(H, k, n):
    """H (C, L) -> MX (Lo*n, k*C*n) with MX @ vec_all(F) = vec(conv(H))."""
    C, L = H.shape
    eye = np.eye(n, dtype=H.dtype)
    return np.vstack([np.kron(eye, vec(H[:, pos:pos + k])[None, :]) for pos in range(L - k + 1)])


def onehot(x, d, dtype):
    """Index vector (L,) with pad = d -> dense (d, L) one-hot matrix with zero pad columns."""
    M = np.zeros((d + 1, x.size), dtype=dtype)
    M[x, np.arange(x.size)] = 1
    return M[:d]


def loss(params, X, y=None, mask=None):
    L = sum(1 for key in params if key.startswith("F"))
    Fs = [params[f"F{i}"] for i in range(1, L + 1)]
    bs = [params.get(f"b{i}") for i in range(1, L + 1)]
    W, b = params["W"], params["b"]
    dtype, d, N = W.dtype, Fs[0].shape[1], X.shape[0]
    lengths = [X.shape[1]]
    for F in Fs:
        lengths.append(lengths[-1] - F.shape[2] + 1)
    MFs = [make_mf(F, Lin) for F, Lin in zip(Fs, lengths[:-1], strict=True)]
    pool = W.shape[0] != Fs[-1].shape[0] * lengths[-1]              # max over positions (see model.pooled)
    scores = np.zeros((N, W.shape[1]), dtype=dtype)
    acts = []
    for j in range(N):
        xs = [vec(onehot(X[j], d, dtype))]
        for i in range(L):
            s = MFs[i] @ xs[-1]
            if bs[i] is not None:
                s = s + np.tile(bs[i], lengths[i + 1])
            xs.append(np.maximum(s, 0))
        if pool:                                                   # max over positions: vec(H) is (Lo, n)
            xs.append(xs[-1].reshape(lengths[-1], -1).max(axis=0))
        x = xs[-1] if mask is None else xs[-1] * mask[j]
        scores[j] = x @ W + b
        acts.append(xs)
    if y is None:
        return scores
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    P = e / e.sum(axis=1, keepdims=True)
    data_loss = -np.mean(np.log(P[np.arange(N), y]))
    grads = {key: np.zeros_like(v) for key, v in params.items()}
    for j in range(N):
        g = P[j].copy()
        g[y[j]] -= 1
        g /= N
        xs = acts[j]
        x = xs[-1] if mask is None else xs[-1] * mask[j]
        grads["W"] += np.outer(x, g)
        grads["b"] += g
        g = W @ g
        if mask is not None:
            g = g * mask[j]
        if pool:
            H = xs[L].reshape(lengths[-1], -1)
            gH = np.zeros_like(H)
            gH[H.argmax(axis=0), np.arange(H.shape[1])] = g
            g = gH.ravel()
        for i in range(L - 1, -1, -1):
            g = g * (xs[i + 1] > 0)
            n, C, k = Fs[i].shape
            if bs[i] is not None:
                grads[f"b{i + 1}"] += g.reshape(-1, n).sum(axis=0)
            H = xs[i].reshape(lengths[i], C).T                    # (C, L_i)
            gF = make_mx(H, k, n).T @ g                          # vec_all(F): n blocks of vec(F_f)
            grads[f"F{i + 1}"] += gF.reshape(n, k, C).transpose(0, 2, 1)
            g = MFs[i].T @ g
    return data_loss, grads
