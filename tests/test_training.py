import numpy as np
import pytest

from helpers import tiny_train as cfg
from namecnn import config, data
from namecnn.errors import NameCNNError
from namecnn.nn import model
from namecnn.training import recipe, sampling, schedule, train

META = {"d": 29, "n_len": 19, "n_classes": 18}


def test_cyclic_peaks_and_troughs():
    lr = schedule.make({"kind": "cyclic", "min": 0.001, "max": 0.1, "step_size": 500})
    assert lr(0) == pytest.approx(0.001) and lr(500) == pytest.approx(0.1) and lr(1000) == pytest.approx(0.001)
    assert lr(1500) == pytest.approx(0.1) and lr(250) == pytest.approx(0.0505)
    values = [lr(t) for t in range(2000)]
    assert min(values) == pytest.approx(0.001) and max(values) == pytest.approx(0.1)
    assert schedule.make({"kind": "constant", "value": 0.01})(1234) == 0.01
    assert schedule.exponential(0, 1e-5, 1.0, 11) == pytest.approx(1e-5)
    assert schedule.exponential(10, 1e-5, 1.0, 11) == pytest.approx(1.0)
    assert schedule.exponential(5, 1e-4, 1.0, 11) == pytest.approx(1e-2)


def test_balanced_sampler_draws_smallest_class_count_without_replacement():
    y = np.repeat(np.arange(3), [5, 20, 100])
    rng = np.random.default_rng(0)
    stream = sampling.batches(y, 15, rng, "balanced", shuffle=True)
    first = np.concatenate([next(stream) for _ in range(1)])            # exactly one epoch: 3 classes x 5
    assert np.bincount(y[first], minlength=3).tolist() == [5, 5, 5]
    assert len(set(first.tolist())) == 15                                # no name twice within an epoch
    assert sorted(first[y[first] == 0].tolist()) == [0, 1, 2, 3, 4]     # the smallest class: all of it
    seen = np.concatenate([next(stream) for _ in range(40)])
    assert np.bincount(y[seen], minlength=3).tolist() == [200, 200, 200]
    assert len(set(seen[y[seen] == 2].tolist())) > 50                   # a different sample every epoch


def test_natural_sampler_and_shuffle():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    ordered = sampling.batches(y, 4, np.random.default_rng(0), "natural", shuffle=False)
    assert next(ordered).tolist() == [0, 1, 2, 3] and next(ordered).tolist() == [4, 5, 6, 7]
    assert next(ordered).tolist() == [0, 1, 2, 3]
    shuffled = sampling.batches(y, 8, np.random.default_rng(0), "natural", shuffle=True)
    epochs = [next(shuffled) for _ in range(5)]
    assert all(sorted(e.tolist()) == list(range(8)) for e in epochs)
    assert any(e.tolist() != list(range(8)) for e in epochs)


def test_per_layer_lists_resolve():
    resolved, arch = recipe.train_config(cfg(layers=3), META)
    assert arch.filters == (8, 8, 8) and arch.widths == (5, 3, 3) and resolved["filters"] == [8, 8, 8]
    with pytest.raises(NameCNNError, match=r"train\.filters: 3 entries for 1 layer\(s\)"):
        recipe.train_config(cfg(layers=1, filters=[20, 50, 50]), META)      # entries nothing would use
    _, arch = recipe.train_config(cfg(layers=3, filters=[20, 50, 50], widths=7), META)
    assert arch.filters == (20, 50, 50) and arch.widths == (7, 7, 7)


@pytest.mark.parametrize("over,key", [
    ({"layers": 0}, "train.layers"),
    ({"layers": 2, "widths": [10, 11]}, "train.widths"),
    ({"lr": {"kind": "constant", "value": 0}}, "train.lr.value"),
    ({"lr": {"kind": "cyclic", "min": -1, "max": 0.1, "step_size": 5}}, "train.lr.min"),
    ({"lr": {"kind": "cyclic", "min": 0.1, "max": 0.01, "step_size": 5}}, "train.lr.max"),
    ({"lr": {"kind": "warm", "value": 1}}, "train.lr.kind"),
    ({"dropout": 1.0}, "train.dropout"),
    ({"dropout": -0.1}, "train.dropout"),
    ({"filters": "fifty"}, "train.filters"),
    ({"filters": [50, 0]}, "train.filters"),
    ({"widths": [7.5, 3]}, "train.widths"),
    ({"batch_size": 0}, "train.batch_size"),
    ({"steps": 1.5}, "train.steps"),
    ({"shuffle": "yes"}, "train.shuffle"),
    ({"sampling": "weighted"}, "train.sampling"),
    ({"logit_adjust": -0.5}, "train.logit_adjust"),
    ({"dtype": "float16"}, "train.dtype"),
    ({"learning_rate": 0.1}, "train.learning_rate: unknown key"),
])
def test_bad_train_params_are_rejected_naming_the_key(over, key):
    with pytest.raises(NameCNNError, match=key.replace(".", r"\.")):
        recipe.train_config(cfg(**over), META)


def test_missing_key_is_named():
    c = cfg()
    del c["momentum"]
    with pytest.raises(NameCNNError, match=r"train\.momentum: missing"):
        recipe.train_config(c, META)


@pytest.fixture(scope="module")
def splits(encoded):
    return data.load(encoded)


def run_fit(splits, **over):
    c, arch = recipe.train_config(cfg(**over), splits[1])
    return train.fit(c, arch, splits[0]["train"], splits[0]["val"], np.random.default_rng(c["seed"]), progress=False)


def test_same_seed_same_weights_and_metrics(splits):
    p1, h1 = run_fit(splits, dropout=0.2)
    p2, h2 = run_fit(splits, dropout=0.2)
    assert h1 == h2
    assert all(np.array_equal(p1[k], p2[k]) for k in p1)
    p3, h3 = run_fit(splits, dropout=0.2, seed=2)
    assert h3 != h1


def test_training_learns(splits):
    _, history = run_fit(splits, steps=400)
    assert [r["step"] for r in history] == [100, 200, 300, 400]
    assert history[-1]["val_acc"] > 0.2 > 1 / 18             # well above chance after 400 small steps
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_divergence_is_a_clear_error(splits):
    with pytest.raises(train.Diverged, match=r"loss diverged at step \d+: it became .*lower train\.lr"):
        run_fit(splits, lr={"kind": "constant", "value": 1e6}, steps=200)


def test_on_eval_can_stop_training(splits):
    seen = []

    def stop(step, row):
        seen.append(step)
        if step == 200:
            raise KeyboardInterrupt

    c, arch = recipe.train_config(cfg(), splits[1])
    with pytest.raises(KeyboardInterrupt):
        train.fit(c, arch, splits[0]["train"], splits[0]["val"], np.random.default_rng(0), on_eval=stop,
                  progress=False)
    assert seen == [100, 200]


def test_stop_event_ends_training_between_steps(splits):
    import threading

    stop = threading.Event()
    seen = []

    def on_eval(step, row):
        seen.append(step)
        stop.set()                                     # as a SIGTERM handler would, mid-run

    c, arch = recipe.train_config(cfg(eval_every=50), splits[1])
    with pytest.raises(KeyboardInterrupt):
        train.fit(c, arch, splits[0]["train"], splits[0]["val"], np.random.default_rng(0), on_eval=on_eval,
                  progress=False, stop=stop)
    assert seen == [50]


def test_boundary_marks_and_pooling_train_and_predict(splits):
    from namecnn.nn import modelio
    from namecnn.serving import predict

    params, history = run_fit(splits, boundary=True, pool=True, layers=1, filters=[16], widths=[3], steps=200)
    c, arch = recipe.train_config(cfg(boundary=True, pool=True, layers=1, filters=[16], widths=[3]), splits[1])
    assert arch.d == 30 and arch.n_len == 21 and params["W"].shape == (16, 18)
    meta = modelio.model_meta(arch, splits[1], c)
    assert meta["itos"][-1] == "^" and meta["boundary"] == "^"
    X, notes = predict.encode_names(["Cruz"], meta)
    assert X.shape == (1, 21) and list(X[0, :6]) == [29, *(meta["itos"].index(ch) for ch in "cruz"), 29] and not notes
    assert history[-1]["val_acc"] > 1 / 18
    long = "x" * 25
    _, notes = predict.encode_names([long], meta)
    assert "cut to the model's n_len=19" in notes[0]


def test_class_prior_is_what_the_batches_draw():
    y = np.array([0] * 9 + [1] + [2] * 4)
    assert np.allclose(sampling.class_prior(y, 3, "balanced"), 1 / 3)
    assert np.allclose(sampling.class_prior(y, 3, "natural"), [9 / 14, 1 / 14, 4 / 14])
    assert np.allclose(sampling.class_prior(y, 4, "sqrt"), [3 / 6, 1 / 6, 2 / 6, 0])     # sqrt(9*1), 1, sqrt(4*1)
    for kind in config.SAMPLING:
        drawn = np.concatenate([next(sampling.batches(y, 7, np.random.default_rng(s), kind)) for s in range(3000)])
        assert np.allclose(np.bincount(y[drawn]) / len(drawn), sampling.class_prior(y, 3, kind), atol=0.01)


def test_logit_adjustment_shifts_only_the_dense_bias(splits):
    """Same seed, same steps: the adjusted network has the same weights and a dense bias lower by
    tau * log(training frequency), so it predicts the rare classes more often; its metrics are reported."""
    (tr, val), meta = (splits[0]["train"], splits[0]["val"]), splits[1]
    raw, _ = run_fit(splits, sampling="natural", steps=200)
    adj, history = run_fit(splits, sampling="natural", steps=200, logit_adjust=0.5)
    prior = np.bincount(tr["y"], minlength=meta["n_classes"]) / len(tr["y"])
    assert all(np.array_equal(raw[k], adj[k]) for k in raw if k != "b")
    assert np.allclose(adj["b"], raw["b"] - 0.5 * np.log(prior))
    largest = np.argmax(prior)
    share = [np.mean(model.predict_proba(p, val["X"]).argmax(axis=1) == largest) for p in (raw, adj)]
    assert share[1] < share[0]
    val_acc = np.mean(model.predict_proba(adj, val["X"]).argmax(axis=1) == val["y"])
    assert history[-1]["val_acc"] == pytest.approx(val_acc)             # the metrics are the adjusted network's
    no_arabic = {k: v[tr["y"] != 0] for k, v in tr.items()}                # a class with no training names
    c, arch = recipe.train_config(cfg(sampling="natural", steps=20, logit_adjust=1.0), meta)
    params, _ = train.fit(c, arch, no_arabic, val, np.random.default_rng(0), progress=False)
    assert np.isfinite(params["b"]).all()
    same, _ = run_fit(splits, steps=200, logit_adjust=1.0)             # balanced: a constant shift, no change
    base, _ = run_fit(splits, steps=200)
    assert np.allclose(model.predict_proba(same, val["X"]), model.predict_proba(base, val["X"]))
