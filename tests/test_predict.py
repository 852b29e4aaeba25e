"""`namecnn predict`: real-world spellings, JSON output, bad names and broken models, MLflow model URIs."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import run_train
from namecnn.serving import predict


@pytest.fixture(scope="module")
def trained(tmp_path_factory, encoded):
    path = tmp_path_factory.mktemp("trained")
    (path / ".dvc").mkdir()
    shutil.copytree(encoded, path / "data" / "encoded")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    assert run_train(path, env, steps=400, calibration=0.2).returncode == 0
    return path, env


def cli(args, cwd, env, stdin=None):
    return subprocess.run([sys.executable, "-m", "namecnn.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("raw,folded", [("Müller", "muller"), ("Dvořák", "dvorak"), ("Ødegaard", "odegaard"),
                                        ("  McGregor ", "mcgregor"), ("Straße", "strasse"), ("Łukasz", "lukasz"),
                                        ("O’Brien", "o'brien"), ("Ñúñez", "nunez"), ("Смирнов", "smirnov"),
                                        ("Хрущёв", "khrushchev"), ("Παπαδόπουλος", "papadopoylos"),
                                        ("Nguyễn", "nguyen"), ("Jiří", "jiri"), ("Wołodyjowski", "wolodyjowski"),
                                        ("Weiß 😀", "weiss 😀")])
def test_fold(raw, folded):
    assert predict.fold(raw) == folded


@pytest.mark.slow
def test_predict_json_in_input_order_with_top_k(trained):
    path, env = trained
    r = cli(["predict", "Müller", "-", "Ødegaard", "--top-k", "4", "--json"], path, env, stdin="nguyen\nyamamoto\n")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["Müller", "nguyen", "yamamoto", "Ødegaard"]
    for x in rows:
        assert len(x["top"]) == 4 and x["top"][0] == {"language": x["language"], "probability": x["probability"]}
        probs = [t["probability"] for t in x["top"]]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6


@pytest.mark.slow
def test_predict_folded_names_equal_their_ascii_spelling(trained):
    path, env = trained
    a = json.loads(cli(["predict", "Dvořák", "--json"], path, env).stdout)[0]
    b = json.loads(cli(["predict", "dvorak", "--json"], path, env).stdout)[0]
    assert a["top"] == b["top"]


@pytest.mark.slow
def test_predict_warns_on_foreign_characters_and_long_names(trained):
    path, env = trained
    r = cli(["predict", "ab😀c", "x" * 30], path, env)
    assert r.returncode == 0
    assert "warning: argument 1: name 'ab😀c': character(s) '😀' not in the model's alphabet, dropped" in r.stderr
    assert "warning: argument 2: name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx': 30 characters, cut to the model's n_len=19" \
        in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args,message", [
    (["cruz", "--top-k", "0"], "error: --top-k must be >= 1"),
    (["cruz", "--model", "nowhere"], "error: nowhere/model.json: model file not found"),
])
def test_predict_bad_input_is_one_line(trained, args, message):
    path, env = trained
    r = cli(["predict", *args], path, env)
    assert r.returncode == 1 and r.stderr.strip() == r.stderr.strip().splitlines()[0]
    assert r.stderr.startswith(message)


@pytest.mark.slow
def test_a_bad_name_fails_its_row_alone(trained):
    """Each name that cannot be classified gets its error in its row and a warning naming its place; the others
    are answered; the exit status is 1 when any row failed."""
    path, env = trained
    r = cli(["predict", "cruz", "   ", "-", "--json"], path, env, stdin="mcgregor\n😀\n")
    rows = json.loads(r.stdout)
    assert r.returncode == 1 and [row["name"] for row in rows] == ["cruz", "   ", "mcgregor", "😀"]
    assert "error" in rows[1] and "error" in rows[3] and "language" in rows[0] and "language" in rows[2]
    assert "error: argument 2: name '   ': nothing left to classify" in r.stderr
    assert "error: stdin:2: name '😀': nothing left to classify" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == ("error: 2 of 4 name(s) could not be classified (marked above); "
                                                 "the others were answered")
    text = cli(["predict", "cruz", "😀"], path, env).stdout.splitlines()
    assert len(text) == 2 and text[1].startswith("😀: error: ") and not text[0].count("error")


@pytest.mark.slow
def test_many_names_with_one_bad_line(trained, tmp_path):
    """The benchmark's case (benchmarks/predict_many.py times 1,000,000), smaller: one bad line among 100,000."""
    path, env = trained
    r = cli(["predict", "-", "--top-k", "1"], path, env, stdin="cruz\n" * 99_999 + "😀\n")
    lines = r.stdout.splitlines()
    assert r.returncode == 1 and len(lines) == 100_000 and sum(": error: " in line for line in lines) == 1
    assert lines[-1].startswith("😀: error:") and "error: stdin:100000: name '😀'" in r.stderr


@pytest.mark.slow
def test_names_are_printed_with_control_and_bidi_characters_escaped(trained):
    path, env = trained
    r = cli(["predict", "\x1b[31mRED", "ab\u202ecd", "y" * 10_000], path, env)
    assert "\x1b" not in r.stdout + r.stderr and "\u202e" not in r.stdout + r.stderr
    assert r.stdout.startswith("\\x1b[31mRED: ") and "ab\\u202ecd: " in r.stdout
    assert max(map(len, r.stderr.splitlines())) < 300                 # a 10,000-character name is cut


@pytest.mark.slow
@pytest.mark.parametrize("damage,message", [
    (lambda m: (m / "model.npz").write_bytes(b"not a zip"), "model.npz: corrupt or unreadable weights"),
    (lambda m: (m / "model.npz").unlink(), "model.npz: model file not found"),
    (lambda m: (m / "model.json").write_text("{"), "model.json: not a namecnn model description"),
    (lambda m: np.savez(m / "model.npz", W=np.zeros(3)), "model.npz: weights do not match the architecture"),
])
def test_predict_on_a_broken_model_fails_clearly(trained, tmp_path, damage, message):
    path, env = trained
    broken = tmp_path / "broken"
    shutil.copytree(path / "models", broken)
    damage(broken)
    r = cli(["predict", "cruz", "--model", str(broken)], path, env)
    assert r.returncode == 1 and "Traceback" not in r.stderr and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_predict_from_mlflow_uris(trained):
    path, env = trained
    run_id = json.loads((path / "reports/train/run.json").read_text())["run_id"]
    local = json.loads(cli(["predict", "cruz", "--json"], path, env).stdout)
    val_acc = json.loads((path / "models/model.json").read_text())["val_acc"]
    r = cli(["predict", "cruz"], path, env)
    assert r.stderr == f"model: models/ (val acc {val_acc:.4f}, MLflow run {run_id})\n"     # which model answered
    for uri in (f"runs:/{run_id}/model", "models:/namecnn/1"):
        r = cli(["predict", "cruz", "--json", "--model-uri", uri], path, env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == local
        assert r.stderr.startswith(f"model: {uri} (") and f"MLflow run {run_id}, val acc 0." in r.stderr
    r = cli(["predict", "cruz", "--model-uri", "models:/namecnn@nobody"], path, env)
    assert r.returncode == 1 and r.stderr.startswith("error: --model-uri models:/namecnn@nobody:")


@pytest.mark.slow
def test_predict_sets_hold_the_top_language_and_grow_with_the_coverage(trained, tmp_path):
    path, env = trained
    names = ["cruz", "nguyen", "mcgregor", "Müller"]
    r = cli(["predict", *names, "--sets", "--json"], path, env)
    assert r.returncode == 0, r.stderr
    assert "sets at coverage 0.9: on average over names like the training names" in r.stderr
    rows = json.loads(r.stdout)
    wide = json.loads(cli(["predict", *names, "--coverage", "0.99", "--json"], path, env).stdout)
    for row, w in zip(rows, wide, strict=True):
        assert row["set"][0] == row["language"] and set(row["set"]) <= set(w["set"])
    assert sum(len(w["set"]) for w in wide) > sum(len(row["set"]) for row in rows)
    text = cli(["predict", "cruz", "--sets"], path, env).stdout
    assert text.startswith("cruz: {" + ", ".join(rows[0]["set"]) + "}  ")
    bad = cli(["predict", "cruz", "--coverage", "1.5"], path, env)
    assert bad.returncode == 1 and bad.stderr.splitlines()[-1] == "error: coverage: must be between 0 and 1, got 1.5"
    shutil.copytree(path / "models", tmp_path / "plain")
    meta = json.loads((tmp_path / "plain/model.json").read_text())
    del meta["calibration"]
    (tmp_path / "plain/model.json").write_text(json.dumps(meta))
    (tmp_path / "plain/model.npz").unlink()
    from namecnn.nn import modelio

    params, _ = modelio.load(path / "models")
    modelio.save(tmp_path / "plain", params, meta)
    none = cli(["predict", "cruz", "--sets", "--model", str(tmp_path / "plain")], path, env)
    assert none.returncode == 1 and "this model has no calibration names (train.calibration: 0)" in none.stderr


@pytest.mark.slow
def test_names_in_their_own_script_are_transliterated_not_refused(trained):
    """The issue's reproduction: Cyrillic and Greek spellings were 'nothing left to classify'."""
    path, env = trained
    r = cli(["predict", "Смирнов", "Παπαδόπουλος", "Nguyễn", "--json"], path, env)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    same = cli(["predict", "smirnov", "papadopoylos", "nguyen", "--json"], path, env)
    assert [x["top"] for x in json.loads(r.stdout)] == [x["top"] for x in json.loads(same.stdout)]
