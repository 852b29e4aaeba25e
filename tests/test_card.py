"""The model card: every figure in it is the one passed in, computed again here (intervals from the beta
distribution, confused pairs and length bins by hand), and the uses it rules out are stated."""
import numpy as np
from scipy import stats

from namecnn.reporting import card


def facts(**over):
    cm = np.array([[3, 1, 0], [2, 2, 0], [0, 0, 4]])                     # rows actual, columns predicted
    classes = ["Alpha", "Beta", "Gamma"]
    predictions = [{"name": n, "actual": classes[a], "predicted": classes[p]}
                   for n, (a, p) in zip(["ab", "abcde", "abcdefg", "abcdefgh", "abcdefghij", "xy", "xyzzy", "xyzw",
                                         "xyzzyxyzzy", "qq", "qqqqqq", "qqqqqqqqq"],
                                        [(0, 0), (0, 0), (0, 0), (0, 1), (1, 0), (1, 0), (1, 1), (1, 1),
                                         (2, 2), (2, 2), (2, 2), (2, 2)], strict=True)]
    per_class = [{"class": c, "support": 4, "recall": cm[i, i] / 4, "precision": cm[i, i] / cm[:, i].sum()}
                 for i, c in enumerate(classes)]
    base = {"version": 7, "run_id": "r" * 32, "commit": "c" * 40, "data_md5": "d" * 32 + ".dir",
            "edition": {"digest": "e" * 64, "dd2424": False, "record": {"source": "/home/me/names"}},
            "model": {"train": {"filters": [4], "widths": [3], "bias": True, "pool": True, "dropout": 0.5,
                                "steps": 10, "sampling": "sqrt", "seed": 1}, "members": 1},
            "classes": classes, "counts": {"train": {"Alpha": 50, "Beta": 10, "Gamma": 5},
                                           "val": {"Alpha": 4, "Beta": 4, "Gamma": 4}},
            "scores": {"val": {"acc": 0.75, "acc_ci_low": 0.5, "acc_ci_high": 1.0, "balanced_acc": 0.75,
                               "top3_acc": 1.0, "macro_f1": 0.74}, "external": {}},
            "per_class": per_class,
            "calibration": {"temperature": 1.25, "calibration_names": 7,
                            "uncalibrated": {"nll": 0.9, "ece": 0.2}, "calibrated": {"nll": 0.8, "ece": 0.1,
                                                                                    "ece_floor": 0.05},
                            "sets": {"coverage_target": 0.9, "coverage": 0.917, "mean_size": 1.5}},
            "confusion": cm, "predictions": predictions}
    return {**base, **over}


def test_every_figure_is_the_one_passed_in():
    text = card.render(facts())
    assert text.splitlines()[2] == card.head(facts())
    for k, c in ((3, "Alpha"), (2, "Beta"), (4, "Gamma")):           # Clopper-Pearson from the beta distribution
        lo = stats.beta.ppf(0.025, k, 4 - k + 1) if k else 0.0
        hi = stats.beta.ppf(0.975, k + 1, 4 - k) if k < 4 else 1.0
        assert f"| {c} | 4 | {k / 4:.2f} | {lo:.2f}–{hi:.2f} |" in text
    assert "Alpha & Beta (3 names)" in text and "Gamma &" not in text     # 1 + 2 both ways; Gamma never confused
    assert "| 1–4 | 4 | 0.75 |" in text and "| 5–6 | 3 | 1.00 |" in text and "| 7–8 | 2 | 0.50 |" in text
    assert "| 9+ | 3 | 0.67 |" in text
    assert "from 50 (Alpha) down to 5 (Gamma)" in text and "from 0.50 (Beta) to 1.00 (Gamma)" in text
    assert "among these 3 (Alpha, Beta, Gamma)" in text and "version 7" in text and "c" * 40 in text
    assert "Temperature 1.250, fitted on 7 held-out training names: NLL 0.9000 → 0.8000" in text
    assert "covered 0.917 of the validation names with 1.50 languages" in text and "4 validation names" in text
    assert "/home/me/names" in text and "spro/practical-pytorch" not in text


def test_the_card_follows_its_inputs_and_names_the_edition():
    changed = card.render(facts(calibration={**facts()["calibration"], "temperature": 2.0}))
    assert "T = 2.00" in changed and "Temperature 2.000" in changed
    dd = card.render(facts(edition={"digest": "e" * 64, "dd2424": True, "record": None}))
    assert "the DD2424 edition" in dd and "spro/practical-pytorch#94" in dd and "not a licence for the data" in dd
    ext = {"test": {"n": 433, "languages": 11, "balanced_acc": 0.5437}}
    assert "external test, 433 names, 11 languages) the balanced accuracy is 0.544" in card.render(
        facts(scores={**facts()["scores"], "external": ext}))


def test_the_card_rules_out_what_names_cannot_tell():
    text = card.render(facts())
    out = text.split("## Out-of-scope uses")[1].split("## Factors")[0]
    for use in ("ethnicity", "nationality", "religion", "decision about an individual", "Given names",
                "forced into one of them"):
        assert use in out
    assert "Not for inferring a person's ethnicity" in card.head(facts())
