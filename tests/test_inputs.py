"""Bad input stops with one line naming the key, file, line or name, before any work: params.yaml values,
model.json, names given to predict. (The fault suite, test_faults.py, covers the tracking store and signals.)"""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import tiny_train
from namecnn import config, data
from namecnn.errors import NameCNNError
from namecnn.nn import model, modelio
from namecnn.training import memory, recipe


@pytest.fixture(scope="module")
def meta(encoded):
    return data.load(encoded)[1]


@pytest.mark.parametrize("key,value", [("logit_adjust", float("inf")), ("dropout", float("nan")),
                                       ("momentum", float("nan")), ("weight_decay", float("-inf")),
                                       ("bias_std", float("nan"))])
def test_nan_and_infinity_are_refused_by_name(meta, key, value):
    with pytest.raises(NameCNNError, match=rf"^train\.{key}: must be a finite number, got (nan|inf|-inf)$"):
        recipe.train_config(tiny_train(**{key: value}), meta)


def test_nan_learning_rate_is_refused(meta):
    with pytest.raises(NameCNNError, match=r"^train\.lr\.max: must be a finite number"):
        recipe.train_config(tiny_train(lr={"kind": "cyclic", "min": 0.001, "max": float("inf"), "step_size": 5}), meta)


def test_every_section_of_params_yaml_has_one_schema_and_passes_it():
    import yaml

    from helpers import ROOT

    sections = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(sections) <= set(config.SECTIONS)
    for name in sections:
        assert config.section(name, ROOT / "params.yaml") == sections[name]


@pytest.mark.parametrize("name,key,value,message", [
    ("evaluate", "level", 1.0, "evaluate.level: must be < 1, got 1.0"),
    ("evaluate", "bootstrap", 0, "evaluate.bootstrap: must be >= 1, got 0"),
    ("baseline", "analyzer", "word", "baseline.analyzer: must be one of char, char_wb, got 'word'"),
    ("lr_range", "lr_end", 1e-6, "lr_range.lr_end: must be > 1e-05, got 1e-06"),
    ("bench", "study_network", "", "bench.study_network: expected a non-empty string, got ''"),
    ("study", "seeds", [1, 2, 1], "study.seeds: seed 1 given twice; each seed must be distinct"),
    ("search", "confirm", {"top": 1, "seeds": [1, 1], "min_lead": 2.0, "ensemble": 0},
     "search.confirm.seeds: seed 1 given twice"),
    ("train", "filters", [300, 32, 32], "train.filters: 3 entries for 1 layer"),
    ("gradcheck", "numeric_dtype", "float16", "gradcheck.numeric_dtype: must be one of longdouble, float64"),
    ("study", "seeds", [1, -2], "study.seeds: expected a non-empty list of integers >= 0, got [1, -2]"),
    ("search", "pruner", "asha", "search.pruner: must be one of successive_halving, hyperband, median, none"),
    ("train", "sampling", "uniform", "train.sampling: must be one of balanced, sqrt, natural"),
])
def test_each_section_is_checked_by_its_schema_naming_the_key(tmp_path, name, key, value, message):
    import yaml

    from helpers import ROOT

    sections = yaml.safe_load((ROOT / "params.yaml").read_text())
    sections[name][key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(sections))
    with pytest.raises(NameCNNError, match="^" + message.replace(".", r"\.").replace("(", r"\(").replace(
            "[", r"\[")):
        config.section(name, tmp_path / "params.yaml")


def test_a_key_given_twice_names_both_lines(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  seed: 1\n  dropout: 0.1\n  seed: 2\nother: {a: 1, a: 2}\n")
    with pytest.raises(NameCNNError, match=r"params\.yaml:4: key 'seed' given twice \(first on line 2\)$"):
        config.load_section("train", path)
    path.write_text("train:\n  seed: 1\nother: {a: 1, a: 2}\n")
    with pytest.raises(NameCNNError, match=r"params\.yaml:3: key 'a' given twice"):
        config.load_section("train", path)


def test_a_network_too_big_for_memory_is_refused_before_allocating(meta):
    needs = r"^train\.filters: this network needs about \d+\.\d GiB .* lower train\.filters$"
    with pytest.raises(NameCNNError, match=needs):
        recipe.train_config(tiny_train(layers=1, filters=[100_000_000], widths=[3]), meta)


def test_a_batch_too_big_for_memory_names_the_batch(meta, monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: 400 << 20)
    available = r"^train\.batch_size: .* than the 0\.4 GiB available; lower train\.batch_size$"
    with pytest.raises(NameCNNError, match=available):
        recipe.train_config(tiny_train(layers=1, filters=[300], widths=[3], batch_size=100_000), meta)
    recipe.train_config(tiny_train(), meta)                 # the tiny network fits in 400 MiB


def test_memory_estimate_counts_what_training_allocates():
    arch = model.Arch(29, 19, 18, (300, 32), (3, 3))
    params = model.init_params(arch, np.random.default_rng(0))
    weights, activations = memory.training_bytes(arch, 100, 4)
    n = sum(p.size for p in params.values())
    assert weights == n * (8 + 3 * 4)
    assert activations == (300 * 17 + 32 * 15 + 2 * 17 * 300) * 4 * 2 * 4096


# --- model.json against the weights ---------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path, meta):
    cfg, arch = recipe.train_config(tiny_train(boundary=True, pool=True, layers=1, filters=[6], widths=[3]), meta)
    params = model.init_params(arch, np.random.default_rng(0), np.float32)
    modelio.save(tmp_path / "m", params, modelio.model_meta(arch, meta, cfg))
    return tmp_path / "m"


def edit(path, change):
    meta = json.loads((path / modelio.META).read_text())
    change(meta)
    (path / modelio.META).write_text(json.dumps(meta))


@pytest.mark.parametrize("change,message", [
    (lambda m: m["itos"].append("7"), r"itos must hold arch\.d=30 single characters, it holds 31"),
    (lambda m: m["arch"].update(n_len=25), r"arch\.n_len differs from the description saved with"),
    (lambda m: m.update(boundary="$"), r"boundary '\$' is not the last character of itos"),
    (lambda m: m.update(boundary=None), r"boundary differs from the description saved with"),
    (lambda m: m.update(classes=m["classes"][:17]), r"classes has 17 entries, arch\.n_classes is 18"),
    (lambda m: m["arch"].update(filters="6"), r"arch\.filters must be a list of positive integers, got '6'"),
    (lambda m: m["arch"].update(d=True), r"arch\.d must be a positive integer"),
    (lambda m: m["classes"].reverse(), r"classes differs from the description saved with"),
])
def test_edited_model_json_is_caught_naming_the_key(saved, change, message):
    modelio.load(saved)
    edit(saved, change)
    with pytest.raises(NameCNNError, match=r"^\S*model\.json: .*" + message):
        modelio.load(saved)


def test_a_model_saved_before_the_description_was_kept_still_loads(saved):
    with np.load(saved / modelio.WEIGHTS) as z:
        np.savez(saved / modelio.WEIGHTS, **{k: z[k] for k in z.files if k != modelio.SAVED_META})
    params, _ = modelio.load(saved)
    assert modelio.SAVED_META not in params
    edit(saved, lambda m: m["classes"].pop())
    with pytest.raises(NameCNNError, match="classes has 17 entries"):
        modelio.load(saved)


# --- names given to predict -----------------------------------------------------------------------------------

def predict_cli(args, cwd, stdin=None, env=None):
    return subprocess.run([sys.executable, "-m", "namecnn.cli", "predict", *args], cwd=cwd, input=stdin,
                          capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("args,stdin,message", [
    ([b"ab\xff\xfecd"], None, "error: name 'ab\\xff\\xfecd': not UTF-8 text (byte 0xff)"),
    (["-"], b"cruz\n\xff\xfe\n", "error: stdin:2: not UTF-8 text (byte 0xff)"),
    ([b"--json", b"ab\xff"], None, "error: name 'ab\\xff': not UTF-8 text (byte 0xff)"),
])
@pytest.mark.parametrize("encoding", ["utf-8", None])
def test_predict_refuses_bytes_that_are_not_utf8(saved, args, stdin, message, encoding):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LC_ALL", "LANG")}
    if encoding:
        env["PYTHONIOENCODING"] = encoding
    r = predict_cli([*args, b"--model", str(saved).encode()], saved.parent, stdin, env)
    err = r.stderr.decode()
    assert r.returncode == 1 and r.stdout == b"" and "Traceback" not in err
    assert err.splitlines() == [message]


def test_predict_json_is_valid_whatever_the_locale(saved):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LC_ALL", "LANG")}
    r = predict_cli(["--json", "Ødegaard", "--model", str(saved)], saved.parent, env={**env, "LC_ALL": "C"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.decode("ascii"))[0]["name"] == "Ødegaard"


def test_predict_without_a_model_says_how_to_get_one(tmp_path):
    r = predict_cli(["cruz"], tmp_path)
    assert r.returncode == 1
    assert r.stderr.decode() == ("error: models/model.json: model file not found; `dvc checkout models` restores "
                                 "the pipeline's last model, `dvc repro train` trains one\n")


def test_predict_with_a_swapped_description_fails_before_predicting(saved, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    edit(other, lambda m: m["itos"].insert(0, m["itos"].pop(1)))
    r = predict_cli(["cruz", "--model", str(other)], tmp_path)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().startswith(f"error: {other}/model.json: itos differs from the description saved")
