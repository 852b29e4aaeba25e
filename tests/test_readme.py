"""The README as a newcomer reads it: short, and every shell command in its code blocks either run by a named
test (`# test: tests/x.py::name`, or `# test: .ci/run`) or marked `# example`, so none is an untested claim."""
import ast
import re

import pytest

from helpers import ROOT

README = (ROOT / "README.md").read_text()
COMMANDS = [line.strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)
            for line in block.splitlines() if line.strip()]


def test_the_readme_is_a_newcomers_page():
    assert len(README.splitlines()) <= 220
    assert COMMANDS


def words(command):
    """What a test must contain to run the command: its subcommand (the program is how the test calls it: a
    subprocess of `python -m namecnn.cli`, the venv's mlflow, the Makefile's target) and its flags."""
    tokens = command.split("#")[0].split()
    return tokens[1:2] + [t.split("=")[0] for t in tokens if t.startswith("--")]


def source_of(target):
    path, _, name = target.partition("::")
    text = (ROOT / path).read_text()
    if not name:
        return text
    found = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef) and n.name == name]
    assert found, f"{target}: no such test"
    return ast.get_source_segment(text, found[0])


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_is_run_by_a_test_or_marked_an_example(command):
    marker = re.search(r"# (test: (\S+)|example)", command)
    assert marker, f"{command!r}: neither `# test: …` nor `# example`"
    if marker.group(2):
        source = source_of(marker.group(2))
        missing = [w for w in words(command) if w not in source]
        assert not missing, f"{marker.group(2)} does not run {missing} of {command!r}"


def test_the_check_can_fail():
    with pytest.raises(AssertionError):
        test_each_command_is_run_by_a_test_or_marked_an_example("dvc repro")
    with pytest.raises(AssertionError, match="does not run"):
        test_each_command_is_run_by_a_test_or_marked_an_example(
            "namecnn bench --nowhere   # test: tests/test_stages.py::test_bench_json")
