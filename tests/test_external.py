"""The external test: independent surname lists folded as predict folds them, none a DD2424 name, split per
language into dev and test; scored against the n-gram baseline on the same names."""
import numpy as np
import pytest

from namecnn.errors import NameCNNError
from namecnn.scoring import external

P = {"seed": 0, "per_language": 6, "min_names": 3, "dev_fraction": 0.5}


@pytest.fixture
def lists(monkeypatch):
    fake = {("ru_RU", "last_names"): ["Смирнов", "Иванов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
                                      "Михайлов", "ivanov"],
            ("de_DE", "last_names"): ["Müller", "Schmidt", "Weiß", "Straße"],
            ("cs_CZ", "last_names"): ["Dvořák", "Novák"]}
    monkeypatch.setattr(external, "SOURCES", {"Russian": [("ru_RU", "last_names")],
                                              "German": [("de_DE", "last_names")], "Czech": [("cs_CZ", "last_names")]})
    monkeypatch.setattr(external, "faker_names", lambda locale, attr: fake[(locale, attr)])
    return fake


def test_external_names_are_folded_new_in_the_alphabet_and_split_per_language(lists, tmp_path):
    alphabet = set("abcdefghijklmnopqrstuvwxyz")
    names, summary = external.build(["Ivanov", "schmidt"], alphabet, ["Czech", "German", "Russian"], P)
    ru = summary["languages"]["Russian"]
    assert ru["listed"] == 9 and ru["distinct"] == 8 and ru["in_dd2424"] == 1 and ru["kept"] == 6   # per_language
    assert set(names) == {"Russian", "German"} and "fewer than external.min_names" in summary["languages"]["Czech"][
        "dropped"]
    assert sorted(names["German"]["dev"] + names["German"]["test"]) == ["muller", "strasse", "weiss"]
    assert len(names["Russian"]["dev"]) == 3 and not set(names["Russian"]["dev"]) & set(names["Russian"]["test"])
    assert "ivanov" not in names["Russian"]["dev"] + names["Russian"]["test"]
    again, _ = external.build(["Ivanov", "schmidt"], alphabet, ["Czech", "German", "Russian"], P)
    assert again == names                                                                       # seeded
    external.write(tmp_path / "ext", names, summary)
    got, y = external.read(tmp_path / "ext", "test", ["German", "Russian"])
    assert len(got) == len(names["German"]["test"]) + 3 and set(y.tolist()) == {0, 1}
    with pytest.raises(NameCNNError, match="German is not one of the model's classes"):
        external.read(tmp_path / "ext", "test", ["Russian"])


def test_the_score_compares_the_model_and_the_baseline_on_the_same_names():
    y = np.array([0, 0, 0, 1, 1, 2])
    model, base = np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 0, 1, 0])
    s = external.score(model, base, y, ["a", "b", "c"], np.random.default_rng(0), 200)
    assert s["acc"] == pytest.approx(5 / 6) and s["baseline_acc"] == pytest.approx(2 / 6)
    assert s["balanced_acc"] == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert s["per_language"]["a"] == {"n": 3, "acc": pytest.approx(2 / 3), "baseline_acc": pytest.approx(1 / 3)}
    assert s["vs_baseline"]["only_a"] == 3 and s["vs_baseline"]["only_b"] == 0
