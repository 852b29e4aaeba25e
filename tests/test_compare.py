"""The paired comparison against hand-computed figures and an independent bootstrap; run names of variants."""
import numpy as np
import pytest

from namecnn.errors import NameCNNError
from namecnn.scoring import compare
from namecnn.scoring import metrics as evaluation
from namecnn.tracking import variant

# 100 names: 5 only A gets right, 1 only B, 50 both, 44 neither
A = np.r_[np.ones(5), np.zeros(1), np.ones(50), np.zeros(44)].astype(bool)
B = np.r_[np.zeros(5), np.ones(1), np.ones(50), np.zeros(44)].astype(bool)


def test_paired_against_hand_computed_figures():
    c = compare.paired(A, B, np.random.default_rng(0), n_boot=4000)
    assert c["diff"] == pytest.approx(0.55 - 0.51)
    assert (c["only_a"], c["only_b"], c["n"]) == (5, 1, 100)
    # McNemar exact: P(X <= 1) for X ~ Binomial(6, 1/2), doubled: 2 * (1 + 6) / 64
    assert c["p_mcnemar"] == pytest.approx(14 / 64)
    # an independent paired percentile bootstrap: resample the 100 pairs
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 100, size=(20000, 100))
    diffs = A[idx].mean(axis=1) - B[idx].mean(axis=1)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert c["low"] == pytest.approx(lo, abs=0.011) and c["high"] == pytest.approx(hi, abs=0.011)
    assert c["low"] <= c["diff"] <= c["high"]


def test_swapping_the_models_negates_the_difference_and_keeps_p():
    ab = compare.paired(A, B, np.random.default_rng(0))
    ba = compare.paired(B, A, np.random.default_rng(0))
    assert ba["diff"] == pytest.approx(-ab["diff"]) and ba["p_mcnemar"] == pytest.approx(ab["p_mcnemar"])
    assert (ba["only_a"], ba["only_b"]) == (1, 5)


def test_a_clear_difference_is_called_and_identical_models_are_not():
    a = np.r_[np.ones(30), np.zeros(70)].astype(bool)
    b = np.zeros(100, dtype=bool)
    c = compare.paired(a, b, np.random.default_rng(0))
    assert c["p_mcnemar"] == pytest.approx(2 * 0.5 ** 30) and c["low"] > 0
    assert compare.verdict(c).startswith("A is better than B: +30.0 points")
    same = compare.paired(a, a, np.random.default_rng(0))
    assert (same["diff"], same["low"], same["high"], same["p_mcnemar"]) == (0, 0, 0, 1)
    assert "not distinguishable" in compare.verdict(compare.paired(A, B, np.random.default_rng(0)))


def test_by_name_matches_names_not_positions():
    a = {"x": ("de", "de"), "y": ("fr", "it"), "z": ("es", "es")}
    b = {"z": ("es", "pt"), "x": ("de", "de"), "w": ("ru", "ru")}          # w: scored by B only
    c = compare.by_name(a, b, np.random.default_rng(0))
    assert (c["n"], c["acc_a"], c["acc_b"]) == (2, 1.0, 0.5)
    assert (c["names_only_a"], c["names_only_b"]) == (["z"], []) and c["diff"] == pytest.approx(0.5)
    with pytest.raises(NameCNNError, match="share no scored names"):
        compare.by_name({"x": ("de", "de")}, {"y": ("de", "de")}, np.random.default_rng(0))
    with pytest.raises(ValueError):
        compare.paired([1, 0], [1], np.random.default_rng(0))


def test_metric_names_are_grouped_and_the_headline_is_short():
    results = {"train": {"acc": 0.8, "loss": 0.5}, "val": {"acc": 0.7, "balanced_acc": 0.7, "acc_ci_low": 0.63,
                                                            "acc_ci_high": 0.76},
               "unseen": {"acc": 0.5, "conflicting": ["cruz"]},
               "champion": {"diff": 0.01, "low": -0.02, "high": 0.04, "p_mcnemar": 0.5, "version": 3, "n": 216}}
    m = evaluation.mlflow_metrics(results)
    assert m == {"train/final_acc": 0.8, "train/final_loss": 0.5, "val/final_acc": 0.7, "val/final_balanced_acc": 0.7,
                 "val/acc_ci_low": 0.63, "val/acc_ci_high": 0.76, "unseen/acc": 0.5, "val/vs_champion": 0.01,
                 "val/vs_champion_low": -0.02, "val/vs_champion_high": 0.04, "val/vs_champion_p_mcnemar": 0.5}
    h = evaluation.headline(results, 2.34567)
    assert list(h) == ["acc", "acc_lo", "acc_hi", "vs_champ", "p_champ", "ms_step", "champ_version"]
    assert h["ms_step"] == 2.3457 and h["champ_version"] == 3                # which champion every row is against
    assert "vs_champ" not in evaluation.headline({**results, "champion": None})
    unmade = evaluation.headline({**results, "champion": {"version": 3, "reason": "no evaluation/confusion.json"}})
    assert "vs_champ" not in unmade and unmade["champ_version"] == 3


def test_a_variant_is_named_by_its_experiment_and_what_it_changes(monkeypatch):
    committed = {"dropout": 0.5, "filters": [300, 32, 32], "lr": {"kind": "cyclic", "max": 0.1}}
    now = {"dropout": 0.3, "filters": [100], "lr": {"kind": "cyclic", "max": 0.1}}
    changed = variant.changes(now, committed)
    assert changed == {"dropout": 0.3, "filters": "[100]"} and variant.changes(now, None) == {}
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    assert variant.run_name(changed, "L1-100-k3") == "dropout=0.3 filters=[100]"
    assert variant.run_name({}, "L1-300-k3") == "L1-300-k3"
    monkeypatch.setenv("DVC_EXP_NAME", "brisk-dace")
    assert variant.run_name(changed, "L1-100-k3") == "brisk-dace: dropout=0.3 filters=[100]"
    assert "`dropout` 0.5 → 0.3" in variant.description("train", "train", changed, committed)
