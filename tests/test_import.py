"""`namecnn data import`: a folder of <Language>.txt files (or the DD2424 layout) -> data/raw, checked against
counts made here; and, end to end, a made-up 3-language folder through every stage to a served answer."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT
from namecnn import data, rawdata

sys.path.insert(0, str(ROOT / "benchmarks"))
import byo_names  # noqa: E402


def write(folder, lists):
    folder.mkdir(parents=True, exist_ok=True)
    for language, names in lists.items():
        (folder / f"{language}.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return folder


def namecnn(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "namecnn.cli", *args], capture_output=True, text=True, cwd=cwd)


LISTS = {"Alpha": [f"al{c}{d}" for c in "bcdfg" for d in "aeiou"] + ["Müller", "muller", "Both", ""],
         "Beta": [f"be{c}{d}" for c in "klmnp" for d in "aeiou"] + ["both"],
         "Gamma": [f"ga{c}{d}" for c in "rstvz" for d in "aeiou"]}


def test_a_folder_becomes_the_layout_encode_reads(tmp_path):
    src = write(tmp_path / "src", LISTS)
    s = rawdata.import_names(src, tmp_path / "raw", k_val=5, k_unseen=2, seed=3)
    splits, meta = data.prepare(tmp_path / "raw")
    assert meta["classes"] == ["Alpha", "Beta", "Gamma"]
    assert meta["counts"]["val"] == {"Alpha": 5, "Beta": 5, "Gamma": 5}                  # balanced, k a language
    assert s["duplicates_removed"] == {"Alpha": 1, "Beta": 0, "Gamma": 0}                 # muller = Müller folded
    assert s["listed_under_several"] == {"both": ["Alpha", "Beta"]}
    train = list(zip(splits["train"]["names"], splits["train"]["y"], strict=True))
    assert ("both", 0) in train and ("both", 1) in train                  # kept under each, never validated on
    assert "both" not in set(splits["val"]["names"])
    assert len(train) + 15 == (27 + 26 + 25) - 3 * 2            # 25 + Müller + both, less 2 unseen a language
    unseen, y = data.read_labelled_names(tmp_path / "raw" / rawdata.UNSEEN, 3)
    assert len(unseen) == 6 and not set(unseen) & (set(splits["train"]["names"]) | set(splits["val"]["names"]))
    assert json.loads((tmp_path / "raw" / rawdata.RECORD).read_text())["seed"] == 3


def test_the_draw_is_seeded_and_drop_removes_shared_names(tmp_path):
    src = write(tmp_path / "src", LISTS)
    for out, seed in (("a", 1), ("b", 1), ("c", 2)):
        rawdata.import_names(src, tmp_path / out, 5, 2, seed)
    read = {o: (tmp_path / o / data.VAL_INDS).read_text() for o in "abc"}
    assert read["a"] == read["b"] != read["c"]
    rawdata.import_names(src, tmp_path / "d", 5, 2, 1, policy="drop")
    splits, _ = data.prepare(tmp_path / "d")
    assert "both" not in set(splits["train"]["names"])


@pytest.mark.parametrize("lists, message", [
    ({"Alpha": ["ab", "cd"], "Beta": LISTS["Beta"]}, "Alpha: 2 names under no other language, fewer than the 12"),
    ({"Alpha": LISTS["Gamma"]}, "expected a folder of at least 2 <Language>.txt files"),
    ({"Alpha": LISTS["Gamma"], "Beta": ["ok", "x😀y"]}, "Beta.txt:2: character '😀'"),
    ({"Alpha": LISTS["Gamma"], "Beta": ["ok", "a" * 41]}, "Beta.txt:2: name 'aaaa"),
])
def test_bad_lists_are_refused_in_one_line_naming_file_and_line(tmp_path, lists, message):
    src = write(tmp_path / "src", lists)
    r = namecnn("data", "import", str(src), "--out", str(tmp_path / "raw"), "--val", "5", "--unseen", "2")
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "raw").exists()


def test_an_existing_folder_is_kept_without_force(tmp_path):
    src = write(tmp_path / "src", LISTS)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "keep.txt").write_text("mine\n")
    args = ("data", "import", str(src), "--out", str(tmp_path / "raw"), "--val", "5", "--unseen", "2")
    r = namecnn(*args)
    assert r.returncode == 1 and "--force" in r.stderr and (tmp_path / "raw" / "keep.txt").read_text() == "mine\n"
    r = namecnn(*args, "--force")
    assert r.returncode == 0 and not (tmp_path / "raw" / "keep.txt").exists()
    assert f"dvc add {tmp_path / 'raw'}" in r.stdout and "dvc repro" in r.stdout


def test_the_dd2424_layout_is_copied_as_is_and_known_by_its_digest(raw_dir, tmp_path):
    r = namecnn("data", "import", str(raw_dir), "--out", str(tmp_path / "raw"))
    assert r.returncode == 0 and "the DD2424 edition" in r.stdout
    for name in (*rawdata.ENCODED, rawdata.UNSEEN):
        assert (tmp_path / "raw" / name).read_bytes() == (raw_dir / name).read_bytes()
    assert rawdata.edition(tmp_path / "raw")["dd2424"]
    (tmp_path / "raw" / data.VAL_INDS).write_text((raw_dir / data.VAL_INDS).read_text().replace(" 5 ", " 6 ", 1))
    assert not rawdata.edition(tmp_path / "raw")["dd2424"]            # one validation name moved: another edition


@pytest.mark.slow
def test_made_up_languages_through_every_stage_to_a_served_answer(tmp_path):
    """import -> dvc add -> dvc repro (every stage, tiny params) -> predict -> mlflow models serve, as the
    benchmark times it; then what the report, the model card and the registry say about these names."""
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "byo_names.py"), "--tiny", "--all", "--workdir",
                        str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert [row[1] for row in out["served"]] == ["Dwarvish", "Elvish", "Hobbit"]
    assert [line.split(":")[1].split()[0] for line in out["predict"]] == ["Dwarvish", "Elvish", "Hobbit"]
    dst = tmp_path / "project"
    lock = yaml.safe_load((dst / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(yaml.safe_load((dst / "dvc.yaml").read_text())["stages"])
    report = (dst / "reports" / "report.md").read_text()
    assert "not the DD2424 edition" in report and "Table 1" not in report and "3 languages" in report
    card = (dst / "reports" / "model_card.md").read_text()
    assert "among these 3 (Dwarvish, Elvish, Hobbit)" in card and "## Out-of-scope uses" in card
    assert "9308" not in card and "spro/practical-pytorch" not in card

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{dst / 'mlflow.db'}")
    mv = client.get_model_version_by_alias("namecnn", "champion")
    first, card_head = mv.description.split("model_card.md")                   # the variant line, then the card's
    assert "validation accuracy" in first and f"**namecnn version {mv.version}**: a character CNN" in card_head
    assert "model_card.md" in {a.path for a in client.list_artifacts(mv.run_id)}


def test_the_byo_folder_is_what_the_benchmark_says(tmp_path):
    byo_names.made_up(tmp_path / "names")
    s = rawdata.import_names(tmp_path / "names", tmp_path / "raw")
    assert s["duplicates_removed"] == {"Dwarvish": 1, "Elvish": 2, "Hobbit": 1}
    assert list(s["listed_under_several"]) == ["shared"] and sum(s["names"].values()) == 287


def test_without_the_store_make_says_in_one_line_what_to_do(tmp_path):
    """A clone away from ../shared/dvc-store: `make setup` (hence `make repro`) stops with one line naming both
    ways in, not DVC's traceback-like output."""
    for f in ("Makefile", "pyproject.toml", "data/raw.dvc", ".dvc/config"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes((ROOT / f).read_bytes())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    (tmp_path / ".venv" / ".installed").touch()
    r = subprocess.run(["make", "-s", "setup"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    said = [line for line in r.stderr.splitlines() if not line.startswith("make")]
    assert r.returncode != 0 and len(said) == 1, r.stderr
    assert "namecnn data import FOLDER" in said[0] and "dvc remote add -d --local mystore URL" in said[0]
