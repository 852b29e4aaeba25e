"""Calibrated probabilities, conformal prediction sets and seed ensembles, against independent computations."""
import json
import os

import numpy as np
import pytest

from helpers import run_train, runs
from namecnn import data
from namecnn.nn import model, modelio
from namecnn.scoring import calibration, conformal
from namecnn.serving import predict
from namecnn.training import members


def synthetic(n, k=6, seed=0, concentration=0.7):
    """A classifier whose probabilities are true: labels drawn from them."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(k, concentration), size=n)
    y = np.array([rng.choice(k, p=p) for p in P])
    return P, y


@pytest.mark.parametrize("method", conformal.METHODS)
@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_conformal_sets_reach_their_coverage_on_a_classifier_with_known_probabilities(method, coverage):
    P_cal, y_cal = synthetic(1000, seed=1)
    P, y = synthetic(20000, seed=2)
    qhat = conformal.threshold(conformal.scores(P_cal, y_cal, method), coverage)
    member = conformal.sets(P, qhat, method)
    covered = member[np.arange(len(y)), y].mean()
    assert coverage - 0.015 <= covered <= coverage + 0.035, covered        # valid, and not everything
    assert member.sum(axis=1).min() >= 1 and member.sum(axis=1).mean() < P.shape[1]
    report = conformal.evaluate(member, y, [f"c{i}" for i in range(6)])
    assert report["coverage"] == pytest.approx(covered) and report["coverage_ci_low"] < covered < report[
        "coverage_ci_high"]
    assert report["mean_size"] == pytest.approx(member.sum(axis=1).mean())


def test_lac_sets_hold_the_classes_above_one_minus_the_threshold_and_too_few_names_give_every_class():
    P = np.array([[0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    assert conformal.sets(P, 0.75, "lac").tolist() == [[True, True, False], [True, True, True]]
    assert conformal.sets(P, 0.1, "lac").tolist() == [[True, False, False], [True, False, False]]   # top always in
    assert conformal.threshold(np.array([0.1, 0.2]), 0.9) == np.inf                            # ceil(3 * 0.9) > 2
    assert conformal.threshold(np.arange(1, 20) / 20, 0.9) == 0.9                             # the 18th of 19


def test_aps_scores_are_the_mass_ranked_at_or_above_the_true_class():
    P = np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    assert conformal.scores(P, np.array([1, 2]), "aps") == pytest.approx([0.8, 1.0])
    assert conformal.sets(P, 0.8, "aps").tolist() == [[True, True, False], [True, True, False]]


def test_the_fitted_temperature_is_the_one_the_labels_were_drawn_at():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=(20000, 5))
    y = np.array([rng.choice(5, p=p) for p in calibration.tempered(z, 2.0)])
    assert calibration.fit_temperature(z, y) == pytest.approx(2.0, rel=0.05)
    assert calibration.nll(calibration.tempered(z, 2.0), y) < calibration.nll(calibration.tempered(z, 1.0), y)


def test_ece_and_brier_against_a_direct_computation():
    P, y = synthetic(500, seed=3)
    conf, right = P.max(axis=1), P.argmax(axis=1) == y
    bins = np.minimum((conf * 10).astype(int) - (conf * 10 == np.floor(conf * 10)), 9)   # (lo, hi] bins
    direct = sum(abs(right[bins == b].mean() - conf[bins == b].mean()) * np.sum(bins == b)
                 for b in range(10) if np.any(bins == b)) / len(y)
    assert calibration.ece(P, y) == pytest.approx(direct)
    onehot = np.eye(P.shape[1])[y]
    assert calibration.brier(P, y) == pytest.approx(np.mean(np.sum((P - onehot) ** 2, axis=1)))
    assert calibration.selective(P, y, (1.0,))["1"] == pytest.approx(right.mean())
    assert calibration.selective(P, y, (0.5,))["0.5"] >= right.mean()


def tiny_members(k):
    arch = model.Arch(d=5, n_len=6, n_classes=3, filters=(4,), widths=(2,), bias=True, pool=True)
    return arch, [model.init_params(arch, np.random.default_rng(members.member_seed(7, i)), np.float64, 0.5)
                  for i in range(k)]


def test_an_ensemble_of_two_gives_the_mean_of_its_members_probabilities_and_round_trips(tmp_path):
    arch, two = tiny_members(2)
    X = np.random.default_rng(0).integers(0, 6, size=(9, 6))
    mean = (model.predict_proba(two[0], X) + model.predict_proba(two[1], X)) / 2
    assert np.allclose(model.predict_proba(two, X), mean)
    T = 1.7
    assert np.allclose(model.predict_proba(two, X, temperature=T), calibration.tempered(model.scores(two, X), T))
    meta = {"arch": {"d": 5, "n_len": 6, "n_classes": 3, "filters": [4], "widths": [2], "bias": True,
                     "pool": True}, "itos": list("abcd^"), "boundary": "^", "classes": ["x", "y", "z"], "train": {}}
    modelio.save(tmp_path, two, meta)
    loaded, saved = modelio.load(tmp_path)
    assert saved["members"] == 2 and len(loaded) == 2
    assert all(np.array_equal(loaded[i][k], two[i][k]) for i in range(2) for k in two[i])
    assert members.member_seed(7, 0) == 7 and members.member_seed(7, 1) != 7


def test_sets_come_from_the_model_and_a_model_without_calibration_says_so():
    P = np.array([[0.7, 0.2, 0.1], [np.nan] * 3])
    meta = {"classes": ["x", "y", "z"], "calibration": {"scores": list(np.linspace(0, 0.9, 50)), "method": "lac",
                                                         "coverage": 0.5, "temperature": 1.0}}
    assert predict.set_labels(P, meta) == ["x", ""]                 # qhat 0.46: 1 - p <= 0.46 for x only
    assert predict.set_labels(P, meta, 0.95) == ["x | y", ""]         # qhat 0.88
    assert predict.set_labels(P, meta, 0.99) == ["x | y | z", ""]     # ceil(51 * 0.99) > 50 names: every class
    with pytest.raises(predict.NameCNNError, match="no calibration names"):
        predict.sets(P, {"classes": ["x", "y", "z"]})
    with pytest.raises(predict.NameCNNError, match="coverage: must be between 0 and 1"):
        predict.sets(P, meta, 1.5)


def test_weighted_conformal_reaches_balanced_coverage_where_the_plain_one_does_not():
    """Calibration names as the training names are (one class common and easy), test names balanced: the
    plain quantile covers the common class and misses the rare; the balanced weights cover the balanced mix."""
    rng = np.random.default_rng(4)

    def names(counts):
        y = np.repeat(np.arange(3), counts)
        sharp = np.where(y[:, None] == 0, 6.0, 1.2)                      # class 0 is the easy one
        P = calibration.tempered(rng.normal(0, 1, (len(y), 3)) + sharp * np.eye(3)[y], 1.0)
        return P, y

    P_cal, y_cal = names([3000, 150, 150])
    P, y = names([5000, 5000, 5000])
    s = conformal.scores(P_cal, y_cal, "lac")
    split = np.sort(s)[int(np.ceil((len(s) + 1) * 0.9)) - 1]                # split conformal, by its formula
    assert conformal.threshold(s, 0.9) == split == conformal.threshold(s, 0.9, np.full(len(s), 7.0))
    plain = conformal.sets(P, conformal.threshold(s, 0.9), "lac")[np.arange(len(y)), y].mean()
    q = conformal.threshold(s, 0.9, conformal.class_weights(y_cal, 3))
    balanced = conformal.sets(P, q, "lac")[np.arange(len(y)), y].mean()
    assert plain < 0.87 and 0.88 <= balanced <= 0.95, (plain, balanced)


def test_the_ece_floor_of_a_perfectly_calibrated_model_is_its_sampling_noise():
    P, _ = synthetic(216, seed=5)
    floor = calibration.ece_floor(P, np.random.default_rng(0), 300)
    P_big, y_big = synthetic(50000, seed=6)
    assert calibration.ece(P_big, y_big) < 0.01 < floor < 0.1


@pytest.mark.slow
def test_the_train_stage_saves_an_ensemble_of_two_as_one_model(tmp_path, encoded):
    import shutil

    (tmp_path / ".dvc").mkdir()
    shutil.copytree(encoded, tmp_path / "data" / "encoded")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    r = run_train(tmp_path, env, steps=60, eval_every=30, ensemble=2, calibration=0.2)
    assert r.returncode == 0, r.stderr
    params, meta = modelio.load(tmp_path / "models")
    assert meta["members"] == 2 and isinstance(params, list) and "calibration" in meta
    splits, _ = data.load(tmp_path / "data" / "encoded")
    X, y = data.inputs(splits["val"], meta["train"]["boundary"])["X"], splits["val"]["y"]
    T = meta["calibration"]["temperature"]
    mean = (model.predict_proba(params[0], X, temperature=T) + model.predict_proba(params[1], X, temperature=T)) / 2
    assert meta["val_acc"] == pytest.approx(np.mean(mean.argmax(axis=1) == y))
    assert not np.array_equal(params[0]["W"], params[1]["W"])                        # two seeds
    run = runs(tmp_path)[0]
    assert {"member1/val/acc", "val/model_acc", "calibration/temperature"} <= set(run.data.metrics)
    assert json.loads((tmp_path / "reports/train/run.json").read_text())["run_id"] == run.info.run_id
