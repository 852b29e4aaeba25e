"""The fast network against the study's plain method, an independent computation, in float64."""
import numpy as np
import pytest

from namecnn.nn import layers, model, onehot, reference


def random_net(rng, L, bias, max_width=7, d=6, n_classes=5):
    widths = tuple(int(k) for k in rng.integers(1, max_width + 1, size=L))
    filters = tuple(int(n) for n in rng.integers(1, 5, size=L))
    n_len = sum(k - 1 for k in widths) + int(rng.integers(1, 4))
    arch = model.Arch(d, n_len, n_classes, filters, widths, bias)
    return arch, model.init_params(arch, rng, bias_std=0.1)


def batch(rng, arch, N=6):
    X = rng.integers(0, arch.d + 1, size=(N, arch.n_len)).astype(np.uint8)   # pad = d included
    return X, rng.integers(0, arch.n_classes, size=N)


@pytest.mark.parametrize("L", [1, 2, 3, 4])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dropout", [False, True])
def test_fast_equals_reference(L, bias, dropout):
    rng = np.random.default_rng(100 * L + 10 * bias + dropout)
    for _ in range(3):
        arch, params = random_net(rng, L, bias)
        X, y = batch(rng, arch)
        mask = layers.dropout_mask(rng, (len(X), arch.dense_in), 0.4, np.dtype(np.float64)) if dropout else None
        loss_f, grads_f = model.loss(params, X, y, mask=mask, impl="fast")
        loss_r, grads_r = model.loss(params, X, y, mask=mask, impl="reference")
        assert abs(loss_f - loss_r) < 1e-10
        assert set(grads_f) == set(grads_r) == set(params)
        for key in params:
            assert grads_f[key].shape == params[key].shape
            np.testing.assert_allclose(grads_f[key], grads_r[key], rtol=0, atol=1e-10, err_msg=key)
        np.testing.assert_allclose(model.loss(params, X, impl="fast"), model.loss(params, X, impl="reference"),
                                   rtol=0, atol=1e-10)


def test_all_widths_one_to_seven():
    rng = np.random.default_rng(7)
    for k in range(1, 8):
        arch = model.Arch(5, k + 2, 4, (3, 2), (k, 2), True)
        params = model.init_params(arch, rng, bias_std=0.1)
        X, y = batch(rng, arch)
        lf, gf = model.loss(params, X, y)
        lr, gr = model.loss(params, X, y, impl="reference")
        assert abs(lf - lr) < 1e-10
        for key in params:
            np.testing.assert_allclose(gf[key], gr[key], atol=1e-10, rtol=0)


def test_onehot_layer_equals_dense_conv_on_onehot_matrix(rng):
    """The gather first layer against conv_forward on an explicit one-hot input (pad -> zero column)."""
    d, N, L = 7, 5, 9
    X = rng.integers(0, d + 1, size=(N, L))
    F, b = rng.normal(size=(4, d, 3)), rng.normal(size=4)
    XT = X.T
    dense = np.eye(d + 1)[XT][:, :, :d]                              # (L, N, d), pad rows all zero
    out, cache = onehot.conv_forward(XT, F, b)
    out_dense, cache_dense = layers.conv_forward(dense, F, b)
    np.testing.assert_allclose(out, out_dense, atol=1e-12)
    dout = rng.normal(size=out.shape)
    dF, db = onehot.conv_backward(dout, cache)
    _, dF_dense, db_dense = layers.conv_backward(dout, cache_dense)
    np.testing.assert_allclose(dF, dF_dense, atol=1e-12)
    np.testing.assert_allclose(db, db_dense, atol=1e-12)


def test_conv_against_loops(rng):
    h, F, b = rng.normal(size=(8, 3, 4)), rng.normal(size=(5, 4, 3)), rng.normal(size=5)   # h (L, N, C)
    out, cache = layers.conv_forward(h, F, b)
    expect = np.zeros((6, 3, 5))
    for n in range(3):
        for p in range(6):
            for f in range(5):
                expect[p, n, f] = np.sum(h[p:p + 3, n, :].T * F[f]) + b[f]
    np.testing.assert_allclose(out, expect, atol=1e-12)
    dout = rng.normal(size=out.shape)
    dh, dF, db = layers.conv_backward(dout, cache)
    expect_dh, expect_dF = np.zeros_like(h), np.zeros_like(F)
    for n in range(3):
        for p in range(6):
            for f in range(5):
                expect_dh[p:p + 3, n, :] += dout[p, n, f] * F[f].T
                expect_dF[f] += dout[p, n, f] * h[p:p + 3, n, :].T
    np.testing.assert_allclose(dh, expect_dh, atol=1e-12)
    np.testing.assert_allclose(dF, expect_dF, atol=1e-12)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 1)), atol=1e-12)


def test_reference_mx_and_mf_agree(rng):
    """The study's identity MX vec(F) = MF vec(H) for one layer."""
    H, F = rng.normal(size=(4, 9)), rng.normal(size=(3, 4, 2))
    lhs = reference.make_mx(H, 2, 3) @ np.concatenate([reference.vec(F[f]) for f in range(3)])
    rhs = reference.make_mf(F, 9) @ reference.vec(H)
    np.testing.assert_allclose(lhs, rhs, atol=1e-12)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_float32_follows_float64(rng, impl):
    arch, params = random_net(rng, 2, True)
    X, y = batch(rng, arch)
    l64, g64 = model.loss(params, X, y, impl=impl)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    l32, g32 = model.loss(p32, X, y, impl=impl)
    assert all(g.dtype == np.float32 for g in g32.values())
    assert abs(l32 - l64) < 1e-5
    for key in params:
        np.testing.assert_allclose(g32[key], g64[key], atol=1e-5, rtol=1e-3)


def test_weight_decay_adds_to_loss_and_grads(rng):
    arch, params = random_net(rng, 2, True)
    X, y = batch(rng, arch)
    l0, g0 = model.loss(params, X, y)
    l1, g1 = model.loss(params, X, y, reg=0.1)
    assert l1 - l0 == pytest.approx(0.1 * sum(np.sum(params[k] ** 2) for k in params if k[0] in "FW"))
    np.testing.assert_allclose(g1["W"] - g0["W"], 0.2 * params["W"])
    np.testing.assert_allclose(g1["b"], g0["b"])


def test_he_init_scale():
    arch = model.Arch(29, 19, 18, (200, 200), (7, 3), True)
    params = model.init_params(arch, np.random.default_rng(0))
    assert params["F1"].std() == pytest.approx(np.sqrt(2 / (29 * 7)), rel=0.02)
    assert params["F2"].std() == pytest.approx(np.sqrt(2 / (200 * 3)), rel=0.02)
    assert not params["b1"].any()


@pytest.mark.parametrize("L", [1, 2, 3])
def test_max_pooling_fast_equals_reference(L):
    rng = np.random.default_rng(40 + L)
    arch, _ = random_net(rng, L, True)
    arch = model.Arch(arch.d, arch.n_len + 3, arch.n_classes, arch.filters, arch.widths, True, pool=True)
    params = model.init_params(arch, rng, bias_std=0.1)
    assert params["W"].shape[0] == arch.filters[-1]
    X, y = batch(rng, arch)
    mask = layers.dropout_mask(rng, (len(X), arch.dense_in), 0.3, np.dtype(np.float64))
    lf, gf = model.loss(params, X, y, mask=mask)
    lr, gr = model.loss(params, X, y, mask=mask, impl="reference")
    assert abs(lf - lr) < 1e-10
    for key in params:
        np.testing.assert_allclose(gf[key], gr[key], atol=1e-10, rtol=0, err_msg=key)


def test_max_pooling_takes_the_max_over_positions(rng):
    h = rng.normal(size=(5, 3, 4))                              # (L, N, C)
    out, cache = layers.maxpool_forward(h)
    np.testing.assert_array_equal(out, h.max(axis=0))
    dh = layers.maxpool_backward(np.ones((3, 4)), cache)
    assert dh.sum() == 12 and (dh * h).sum() == pytest.approx(h.max(axis=0).sum())


def padded_names(rng, d, n_len, N=8):
    """Left-aligned names padded with d as the encode stage writes them, of lengths 0..n_len (one full, one
    empty): the windows past a name's end see pads only and tie, as in real batches."""
    lengths = rng.integers(0, n_len + 1, size=N)
    lengths[:2] = n_len, 0
    X = np.full((N, n_len), d, dtype=np.uint8)
    for i, n in enumerate(lengths):
        X[i, :n] = rng.integers(0, d, size=n)
    return X, rng.integers(0, 5, size=N)


@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("dropout", [False, True])
def test_pooled_fast_equals_reference_on_padded_names(L, dropout):
    """The pooled fast path (input cut after the longest name, ReLU after the max, the one-layer fused
    gather/scatter) against the reference's dense one-hot products, every gradient, in float64."""
    rng = np.random.default_rng(70 + 10 * L + dropout)
    for _ in range(4):
        widths = tuple(int(k) for k in rng.integers(1, 5, size=L))
        filters = tuple(int(n) for n in rng.integers(1, 7, size=L))
        n_len = sum(k - 1 for k in widths) + int(rng.integers(3, 9))
        arch = model.Arch(6, n_len, 5, filters, widths, True, pool=True)
        params = model.init_params(arch, rng, bias_std=0.1)
        X, y = padded_names(rng, arch.d, n_len)
        mask = layers.dropout_mask(rng, (len(X), arch.dense_in), 0.4, np.float64) if dropout else None
        lf, gf = model.loss(params, X, y, mask=mask, reg=0.01)
        lr, gr = model.loss(params, X, y, mask=mask, reg=0.01, impl="reference")
        assert abs(lf - lr) < 1e-10
        for key in params:
            np.testing.assert_allclose(gf[key], gr[key], atol=1e-10, rtol=0, err_msg=key)
        np.testing.assert_allclose(model.loss(params, X), model.loss(params, X, impl="reference"), atol=1e-10, rtol=0)


def test_trimmed_length_keeps_one_all_pad_window():
    X = np.full((3, 10), 9, dtype=np.uint8)
    X[0, :5], X[1, :2] = 1, 2                                  # the longest name: 5 characters
    assert model.trimmed_length(X, 9, reach=2) == 6 + 2        # windows 0..4 touch it, window 5 is all pad
    X[2, :] = 3                                                # a full-length name: nothing to cut
    assert model.trimmed_length(X, 9, reach=2) == 10


def test_fused_pool_backward_equals_dense_route(rng):
    """onehot.conv_pool_backward (a bincount at the maximal windows) against the dense route: the pooled
    gradient spread back by layers.maxpool_backward, then onehot.conv_backward's scatter of every window."""
    X, _ = padded_names(rng, 7, 12, N=9)
    F, b = rng.normal(size=(5, 7, 3)), rng.normal(size=5)
    XT = np.ascontiguousarray(X.T)
    out, cache = onehot.conv_pool_forward(XT, F, b)
    h, conv_cache = onehot.conv_forward(XT, F, b)
    np.testing.assert_array_equal(out, h.max(axis=0))
    np.testing.assert_array_equal(onehot.conv_pool_forward(XT, F, b, positions=False)[0], out)
    dout = rng.normal(size=out.shape) * (rng.random(out.shape) > 0.3)
    dF, db = onehot.conv_pool_backward(dout, cache)
    dF_dense, db_dense = onehot.conv_backward(layers.maxpool_backward(dout, (h, out)), conv_cache)
    np.testing.assert_allclose(dF, dF_dense, atol=1e-12, rtol=0)
    np.testing.assert_allclose(db, db_dense, atol=1e-12, rtol=0)


def test_argmax_positions_points_at_a_maximum(rng):
    h = rng.normal(size=(6, 4, 3))                              # (L, N, C)
    h[2:5, 0, 1] = 9.0                                          # a three-way tie
    at = layers.argmax_positions(h, h.max(axis=0))
    np.testing.assert_array_equal(np.take_along_axis(h, at[None].astype(np.intp), axis=0)[0], h.max(axis=0))
    assert at[0, 1] == 4                                        # the last of the tied windows
