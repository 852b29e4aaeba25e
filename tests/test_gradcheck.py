import numpy as np
import pytest

from namecnn.nn import gradcheck, layers, model


def setup(rng, filters, widths, bias, dropout=0.0, N=4):
    arch = model.Arch(8, 10, 5, filters, widths, bias)
    params = model.init_params(arch, rng, bias_std=0.1)
    X = rng.integers(0, 9, size=(N, 10)).astype(np.uint8)
    y = rng.integers(0, 5, size=N)
    mask = layers.dropout_mask(rng, (N, arch.dense_in), dropout, np.dtype(np.float64)) if dropout else None
    return params, X, y, mask


@pytest.mark.parametrize("cfg", [((6, 5), (4, 3), False, 0.0), ((4, 4, 4), (3, 3, 2), True, 0.3)])
def test_correct_gradients_pass(cfg):
    rng = np.random.default_rng(1)
    params, X, y, mask = setup(rng, *cfg)
    table = gradcheck.check(params, X, y, rng, mask=mask, max_entries=40)
    assert set(table) == set(params)
    for key, row in table.items():
        assert row["entries"] + row["kinks"] == min(params[key].size, 40)
        assert row["entries"] > 0
        assert row["max_rel_error"] < 1e-6, key


@pytest.mark.parametrize("key", ["F1", "F2", "W", "b", "b1"])
def test_wrong_gradient_is_caught(key):
    """A backward off by 1 % in one array fails the 1e-6 tolerance, there and only there."""
    rng = np.random.default_rng(2)
    params, X, y, mask = setup(rng, (4, 4), (3, 2), True, 0.2)
    _, grads = model.loss(params, X, y, mask=mask)
    grads[key] = grads[key] * 1.01
    table = gradcheck.check(params, X, y, rng, mask=mask, max_entries=40, grads=grads)
    assert table[key]["max_rel_error"] > 1e-3
    assert all(row["max_rel_error"] < 1e-6 for k, row in table.items() if k != key)


def test_wrong_backward_layer_is_caught(monkeypatch):
    """A bug inside a layer's backward (ReLU passing gradient at zero input) is caught."""
    rng = np.random.default_rng(3)
    params, X, y, _ = setup(rng, (4, 4), (3, 2), False)
    monkeypatch.setattr(layers, "relu_backward", lambda dout, cache: dout * (cache >= -1e9))
    table = gradcheck.check(params, X, y, rng, max_entries=40)
    assert max(row["max_rel_error"] for row in table.values()) > 1e-2


def test_kinks_are_flagged_not_hidden():
    """Perturbing across a ReLU kink is flagged, and the centred difference there is indeed off."""
    x = np.array([0.0])
    f = lambda: float(np.maximum(x[0] + 0.3e-5, 0))          # kink inside [x-h, x+h]
    pattern = lambda: np.array([x[0] + 0.3e-5 > 0])
    grad, kink = gradcheck.numerical_grad(f, x, [0], 1e-5, pattern)
    assert kink[0] and grad[0] != pytest.approx(1.0)
    grad, kink = gradcheck.numerical_grad(lambda: 3 * x[0], x, [0], 1e-5, lambda: np.array([True]))
    assert not kink[0] and grad[0] == pytest.approx(3.0)


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps, reason="no extended precision")
def test_float64_numeric_is_noisier_than_extended():
    rng = np.random.default_rng(4)
    params, X, y, _ = setup(rng, (6, 5), (4, 3), False)
    t64 = gradcheck.check(params, X, y, np.random.default_rng(0), max_entries=40, numeric_dtype=np.float64)
    text = gradcheck.check(params, X, y, np.random.default_rng(0), max_entries=40)
    assert sum(r["mean_abs_diff"] for r in text.values()) < sum(r["mean_abs_diff"] for r in t64.values())
