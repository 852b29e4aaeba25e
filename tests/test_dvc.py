"""dvc.yaml against the code: each stage depends on every package module it imports (never on less, so no
result goes stale) and on exactly the params it reads, so a variant reruns only what it changes."""
import ast
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from namecnn import search

PKG = ROOT / "src" / "namecnn"
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def package_imports(path):
    """namecnn modules a file imports anywhere in it (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
            elif node.module == "namecnn":
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("namecnn."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update("__init__" if a.name == "namecnn" else a.name.split(".")[1]
                         for a in node.names if a.name.split(".")[0] == "namecnn")
    return {m for m in found if (PKG / f"{m}.py").is_file()}


def closure(script):
    seen, todo = set(), list(package_imports(script))
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += package_imports(PKG / f"{m}.py")
    return seen


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_depends_on_every_module_it_imports(stage):
    script = STAGES[stage]["cmd"].split()[1]
    deps = set(STAGES[stage]["deps"])
    assert script in deps
    missing = sorted(f"src/namecnn/{m}.py" for m in closure(ROOT / script) if f"src/namecnn/{m}.py" not in deps)
    assert not missing, f"{stage} imports but does not depend on {missing}"


def test_closure_sees_function_level_imports():
    assert {"data", "model"} <= package_imports(PKG / "config.py")      # imported inside resolve_arch


def test_search_depends_on_exactly_the_train_keys_a_trial_takes():
    train_keys = [p.split(".", 1)[1] for p in STAGES["search"]["params"] if p.startswith("train.")]
    assert sorted(train_keys) == sorted(search.BASE_KEYS)
    assert "train" not in STAGES["search"]["params"]


def test_no_stage_but_train_reads_the_whole_train_section():
    readers = [s for s, st in STAGES.items() if "train" in st.get("params", [])]
    assert readers == ["train"]


def test_named_networks_are_the_params_their_stages_read():
    assert "study.configs.${lr_range.network}" in STAGES["lr_range"]["params"]
    assert {"study.configs.${bench.networks.study}", "study.configs.${bench.networks.default}"} <= set(
        STAGES["bench"]["params"])


def test_the_study_confirms_the_committed_default_network():
    """study.configs.default_model is the train section as committed (resolved: `layers` takes its entries),
    but for the seed and how often it is evaluated."""
    from namecnn import config, study

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    meta = {"d": 29, "n_len": 19, "n_classes": 18, "boundary": "^"}
    train, _ = config.train_config(params["train"], meta)
    default, _ = study.network(params["study"], "default_model", meta)
    skip = ("seed", "eval_every")
    assert {k: v for k, v in default.items() if k not in skip} == {k: v for k, v in train.items() if k not in skip}
