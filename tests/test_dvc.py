"""dvc.yaml against the code: each stage depends on every package module it imports (never on less, so no
result goes stale) and on exactly the params it reads, so a variant reruns only what it changes."""
import ast
from pathlib import Path

import pytest
import yaml

from helpers import ROOT

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


def test_search_depends_on_the_default_network_not_the_train_section():
    """Trials draw over the default network of study.configs (search.default), which
    test_the_default_network_is_the_train_section keeps equal to the train section: a `-S train.…` variant does
    not rerun the search."""
    assert STAGES["search"]["params"] == ["search", "study.base", "study.configs.${search.default}"]


def test_the_default_network_is_the_train_section(encoded):
    """search.default names the study.configs entry that is the committed train section (its seed and
    evaluation interval aside): the search's warm start, the study's `default_model` and `dvc repro train`
    are one network."""
    from namecnn import config, data, study

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    meta = data.load(encoded)[1]
    trained, _ = config.train_config(params["train"], meta)
    named, _ = study.network(params["study"], params["search"]["default"], meta)
    skip = {"seed", "eval_every"}
    assert {k: v for k, v in named.items() if k not in skip} == {k: v for k, v in trained.items() if k not in skip}
