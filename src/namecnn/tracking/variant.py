"""What a run changes: its DVC experiment's name and the params.yaml keys that differ from the committed
file, for MLflow run names and descriptions a person can tell apart."""
import os
import subprocess

import yaml

from .store import flat


def committed_section(name, cwd=None):
    """Section `name` of params.yaml at git's HEAD (a `dvc exp run` starts from it), or None."""
    try:
        out = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=cwd, capture_output=True, text=True,
                             timeout=10)
        return (yaml.safe_load(out.stdout) or {}).get(name) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, yaml.YAMLError, AttributeError):
        return None


def changes(section, committed):
    """{dotted key: value} of the keys whose value differs from `committed`; {} when there is no committed
    section to compare with (not a git checkout, or params.yaml never committed)."""
    if not isinstance(committed, dict):
        return {}
    before = flat(committed)
    return {k: v for k, v in flat(section).items() if k not in before or before[k] != v}


def adopted(changed, committed):
    """Is this run the committed default: not a DVC experiment, and the section as git's HEAD holds it (or no
    commit to compare with)? Only then may its model become the champion (registry.settle)."""
    return not os.environ.get("DVC_EXP_NAME") and (committed is None or not changed)


def label(changed):
    """dropout=0.3 filters=[100]"""
    return " ".join(f"{k}={v}" for k, v in changed.items())


def run_name(changed, otherwise):
    """`<DVC experiment>: <changed keys>`; the changed keys alone outside an experiment; `otherwise` (e.g. the
    architecture) when nothing changed."""
    what = label(changed) or otherwise
    exp = os.environ.get("DVC_EXP_NAME")
    return f"{exp}: {what}" if exp else what


def description(stage, section_name, changed, committed, extra=""):
    """Markdown for the run's description (MLflow's `mlflow.note.content`)."""
    exp = os.environ.get("DVC_EXP_NAME")
    where = f"DVC experiment `{exp}`" if exp else "`dvc repro`"
    if changed:
        before = flat(committed) if isinstance(committed, dict) else {}
        diff = ", ".join(f"`{k}` {before.get(k, '(new)')} → {v}" for k, v in changed.items())
        what = f"params.yaml's `{section_name}` section with {diff} (against the committed file)"
    else:
        what = f"the committed `{section_name}` section of params.yaml"
    return f"The `{stage}` stage of {where}: {what}. {extra}".strip()
