"""dvc.yaml against the code: each stage depends on every package module it imports (never on less, so no
result goes stale, and on no more), and on the params it reads, so a variant reruns only what it changes."""
from pathlib import Path

import pytest
import yaml

import imports
from helpers import ROOT

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def package_deps(script):
    """The stage's package files as dvc.yaml should list them: a folder whose every module it runs, else files."""
    files = {imports.path_of(m).relative_to(ROOT).as_posix() for m in imports.closure(ROOT / script)}
    every = {p.relative_to(ROOT).as_posix() for p in imports.PKG.rglob("*.py")}
    out = set()
    for folder in {str(Path(f).parent) for f in files} - {"src/namecnn"}:
        members = {f for f in every if str(Path(f).parent) == folder}
        if members <= files:
            out.add(folder)
            files -= members
    return out | files


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_depends_on_exactly_the_modules_it_runs(stage):
    script = STAGES[stage]["cmd"].split()[1]
    deps = set(STAGES[stage]["deps"])
    assert script in deps
    listed = {d for d in deps if d.startswith("src/")}
    want = package_deps(script)
    assert not want - listed, f"{stage} runs but does not depend on {sorted(want - listed)}"
    assert not listed - want, f"{stage} depends on {sorted(listed - want)}, which it never runs"


def test_closure_sees_function_level_imports_and_package_inits():
    found = imports.closure(imports.PKG / "cli" / "bench.py")         # imports inside run() and network()
    assert {"namecnn.training.bench", "namecnn.study.networks", "namecnn.study", "namecnn"} <= found


def test_the_default_network_is_read_from_the_train_section_by_every_stage_that_trains_it():
    """No copy of the default network: the study's default row, the search, the LR range test and the bench read
    the train section, and dvc.yaml makes them depend on it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert params["study"]["configs"]["default_model"] == "train"
    assert "default" not in params["search"] and "network" not in params["lr_range"]
    for stage in ("study", "search", "lr_range", "bench"):
        assert "train" in STAGES[stage]["params"], stage
    assert len(params["train"]["filters"]) == len(params["train"]["widths"]) == params["train"]["layers"]


def test_a_one_key_variant_changes_one_line_of_params_yaml(tmp_path):
    """params.yaml is kept in the form DVC writes back (`dvc exp run -S`, `dvc exp apply`): one key, one line."""
    from dvc.utils.serialize import modify_yaml

    copy = tmp_path / "params.yaml"
    copy.write_text((ROOT / "params.yaml").read_text())
    with modify_yaml(copy) as d:
        d["train"]["dropout"] = 0.3
    before, after = (ROOT / "params.yaml").read_text().splitlines(), copy.read_text().splitlines()
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after, strict=True)) == 1


def test_each_figure_is_drawn_once_with_titled_axes():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert not any("plots" in stage for stage in dvc["stages"].values())      # only the top-level list draws
    named = {next(iter(p)): p[next(iter(p))] for p in dvc["plots"] if isinstance(p, dict)}
    files = [p for p in dvc["plots"] if isinstance(p, str)]
    assert len(files) == len(set(files))
    for plot in named.values():
        assert plot.get("title") and plot.get("x_label") and plot.get("y_label")
    confusion = named["Confusion"]
    assert confusion["x"] == "predicted" and confusion["y"] == {"reports/evaluate/confusion.json": "actual"}
