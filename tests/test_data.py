import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from namecnn import data
from namecnn.errors import NameCNNError

ENCODE = [sys.executable, str(ROOT / "stages" / "encode.py")]


def test_prepare_real_data(raw_dir):
    splits, meta = data.prepare(raw_dir)
    assert meta["d"] == 29 and meta["n_len"] == 19 and meta["n_classes"] == 18
    assert meta["itos"] == sorted(meta["itos"]) and meta["stoi"][meta["itos"][5]] == 5
    assert meta["classes"][0] == "Arabic" and meta["classes"][-1] == "Vietnamese"
    assert set(meta["counts"]["val"].values()) == {12}
    assert len(splits["val"]["y"]) == 216 and len(splits["train"]["y"]) == 17421 - 216
    assert meta["counts"]["train"]["Russian"] + 12 == 9308 and meta["counts"]["train"]["Portuguese"] + 12 == 51


def test_validation_rows_are_one_based(raw_dir):
    """Line number 2 of ascii_names.txt (Abboud) is in the validation set, line 1 (Abadi) is not."""
    splits, meta = data.prepare(raw_dir)
    assert "abboud" in set(splits["val"]["names"]) and "abadi" in set(splits["train"]["names"])


def test_names_with_spaces_and_punctuation(tmp_path):
    (tmp_path / data.LABELS).write_text("1 A\n2 B\n")
    (tmp_path / data.NAMES).write_text("De la Cruz 1\nO'Neill 2\nSmith, Jr 2\n")
    (tmp_path / data.VAL_INDS).write_text("1 2\n")
    splits, meta = data.prepare(tmp_path)
    assert list(splits["val"]["names"]) == ["de la cruz", "o'neill"]
    assert list(splits["val"]["y"]) == [0, 1]
    assert meta["n_len"] == 10 and meta["alphabet"].startswith(" ',")
    x = splits["train"]["X"][0]
    assert "".join(meta["itos"][i] for i in x if i != meta["pad"]) == "smith, jr"
    assert (x[9:] == meta["pad"]).all()


@pytest.mark.parametrize("file,text,message", [
    (data.NAMES, "Abadi 1\nAbboud\n", "ascii_names.txt:2: no label"),
    (data.NAMES, "Abadi 1\nAbboud 19\n", "ascii_names.txt:2: label 19 is outside 1..18"),
    (data.NAMES, "Abadi 1\nAbboud 0\n", "ascii_names.txt:2: label 0 is outside 1..18"),
    (data.NAMES, "Abadi x1\n", "ascii_names.txt:1: label 'x1' is not an integer"),
    (data.NAMES, "", "ascii_names.txt: file is empty"),
    (data.VAL_INDS, "1 2 99999\n", "Validation_Inds.txt:1: index 99999 is outside 1..17421"),
    (data.VAL_INDS, "1 2 0\n", "Validation_Inds.txt:1: index 0 is outside"),
    (data.VAL_INDS, "3\n5 3\n", "Validation_Inds.txt:2: index 3 is repeated"),
    (data.VAL_INDS, "1 two\n", "Validation_Inds.txt:1: index 'two' is not a positive integer"),
    (data.LABELS, "1 Arabic\n1 Chinese\n", "category_labels.txt:2: label 1 given twice"),
])
def test_bad_input_names_file_and_line(raw_copy, tmp_path, file, text, message):
    (raw_copy / file).write_text(text)
    with pytest.raises(NameCNNError, match=message.replace(".", r"\.").replace("(", r"\(")):
        data.prepare(raw_copy)
    out = tmp_path / "encoded"
    r = subprocess.run(ENCODE + [str(raw_copy), str(out)], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


LONG = "a" * 10**7


@pytest.mark.parametrize("content,message", [
    (b"Abadi 1\nAb\xff\xfeoud 1\n", "ascii_names.txt:2: not UTF-8 text (byte 0xff)"),
    (f"Abadi 1\n{LONG} 1\n".encode(), "ascii_names.txt:2: name 'aaaaaaaaaa"),
    (f"Abadi 1\n{'b' * 500} 1\n".encode(), "is longer than 40 characters"),
    (f"Abadi 1\n{LONG}\n".encode(), "ascii_names.txt:2: no label after the name in 'aaaaaaaa"),
    ("Abadi 1\nAb\ufeffoud 1\n".encode(), "ascii_names.txt:2: character '\\ufeff' (U+FEFF, not printable ASCII)"),
    ("Abadi 1\nPetrov☺ 15\n".encode(), "ascii_names.txt:2: character '☺' (U+263A, not printable ASCII)"),
    (b"Abadi 1\nAb\x00oud 1\n", "ascii_names.txt:2: character '\\x00' (U+0000, not printable ASCII)"),
    ("Abadi 1\nAbboud \u00b2\n".encode(), "ascii_names.txt:2: label '²' is not an integer"),
    (b"Abadi 1\nA^b 1\n", "ascii_names.txt:2: character '^' (the boundary mark)"),
])
def test_bad_bytes_and_names_are_one_line_naming_file_and_line(raw_copy, tmp_path, content, message):
    (raw_copy / data.NAMES).write_bytes(content)
    out = tmp_path / "encoded"
    r = subprocess.run(ENCODE + [str(raw_copy), str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.count("\n") == 1 and len(r.stderr) < 300 and message in r.stderr, r.stderr
    assert not out.exists()


def test_names_are_folded_as_predict_folds_them(tmp_path):
    (tmp_path / data.LABELS).write_text("1 A\n2 B\n")
    (tmp_path / data.NAMES).write_text("\ufeffMüller 1\nStraße 2\nJosé 2\n")      # a byte-order mark first
    (tmp_path / data.VAL_INDS).write_text("1 2\n")
    splits, meta = data.prepare(tmp_path)
    assert list(splits["val"]["names"]) == ["muller", "strasse"] and list(splits["train"]["names"]) == ["jose"]
    assert set(meta["alphabet"]) == set("mulerstajo")


def test_encode_replaces_its_three_files_together(raw_copy, tmp_path, monkeypatch):
    """The outputs go to a new folder that replaces the old one whole: a failure part-way leaves the old
    files, and a stray folder where a file goes does not stop the new files from replacing the old ones."""
    from namecnn import fsio

    out = tmp_path / "encoded"
    assert subprocess.run(ENCODE + [str(raw_copy), str(out)], capture_output=True).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "val.npz").unlink()
    (out / "val.npz").mkdir()
    (out / "meta.json").write_text("old")
    assert subprocess.run(ENCODE + [str(raw_copy), str(out)], capture_output=True).returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    (out / "meta.json").write_text("old")
    written = []

    def write_json(path, obj):
        written.append(path)
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(fsio, "write_json", write_json)
    import runpy
    import sys as _sys

    monkeypatch.setattr(_sys, "argv", ["encode.py", str(raw_copy), str(out)])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(ROOT / "stages" / "encode.py"), run_name="__main__")
    assert e.value.code == 1 and written
    assert (out / "meta.json").read_text() == "old"
    assert {p.name for p in out.iterdir()} == set(before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encoded", "raw"]      # no temporary folder left


def test_failed_encode_keeps_previous_output(raw_copy, tmp_path):
    out = tmp_path / "encoded"
    assert subprocess.run(ENCODE + [str(raw_copy), str(out)], capture_output=True).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (raw_copy / data.NAMES).write_text("Abadi 1\nbroken\n")
    assert subprocess.run(ENCODE + [str(raw_copy), str(out)], capture_output=True).returncode == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_encode_stage_output(encoded):
    splits, meta = data.load(encoded)
    assert splits["train"]["X"].dtype == np.uint8 and splits["train"]["X"].shape == (17205, 19)
    assert json.loads((encoded / "meta.json").read_text())["counts"]["val"]["Korean"] == 12
    assert splits["val"]["names"].shape == (216,)


def test_boundary_encoding_wraps_every_name(raw_dir):
    splits, meta = data.prepare(raw_dir)
    Xb, X = splits["val"]["Xb"], splits["val"]["X"]
    assert Xb.shape == (216, 21) and meta["boundary"] == "^" and "^" not in meta["itos"]
    mark, pad = meta["d"], meta["d"] + 1
    lengths = (meta["d"] != X).sum(axis=1)
    for row, x, n in zip(Xb, X, lengths, strict=True):
        assert row[0] == mark and row[n + 1] == mark and (row[n + 2:] == pad).all()
        assert (row[1:n + 1] == x[:n]).all()
    assert data.view(meta, True) == {"d": 30, "n_len": 21, "n_classes": 18}
