"""The package's layering, as the README states it, checked from the imports (tests/imports.py): no import
circle, no import of a folder above one's own, every module at most 220 lines."""
import pytest

import imports

LAYERS = [   # lowest first: a module may import its own layer and those before it, never one after
    {"namecnn", "namecnn.errors", "namecnn.fsio", "namecnn.config"},
    {"namecnn.data", "namecnn.rawdata"},
    {"namecnn.nn"}, {"namecnn.training"}, {"namecnn.scoring"}, {"namecnn.reporting"}, {"namecnn.tracking"},
    {"namecnn.serving"}, {"namecnn.study"}, {"namecnn.search"}, {"namecnn.cli"},
]


def layer(module):
    for i, names in enumerate(LAYERS):
        if any(module == n or (n != "namecnn" and module.startswith(n + ".")) for n in names):
            return i
    raise AssertionError(f"{module} is in no layer of the README's map")


def cycles(graph):
    """Every import circle, as the list of modules along it (depth-first search)."""
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def test_no_import_circles():
    assert cycles(imports.graph()) == []


def test_no_import_runs_back_up_the_layers():
    back = [f"{m} -> {n}" for m, targets in imports.graph().items() for n in targets if layer(n) > layer(m)]
    assert back == []


def test_the_checks_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert layer("namecnn.cli.main") > layer("namecnn.search.run") > layer("namecnn.nn.model")
    with pytest.raises(AssertionError):
        layer("namecnn.nowhere")


@pytest.mark.parametrize("path", sorted(imports.PKG.rglob("*.py")), ids=lambda p: p.relative_to(imports.PKG).as_posix())
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 220
