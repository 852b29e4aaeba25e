import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def raw_dir():
    if not (RAW / "ascii_names.txt").is_file():
        pytest.fail("data/raw is missing: run `make setup` (dvc pull) first")
    return RAW


@pytest.fixture
def raw_copy(raw_dir, tmp_path):
    """A writable copy of the raw files, to break."""
    dst = tmp_path / "raw"
    shutil.copytree(raw_dir, dst)
    return dst


@pytest.fixture(scope="session")
def encoded(raw_dir, tmp_path_factory):
    """The encode stage's output for the real data, in a temporary directory."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("encoded")
    subprocess.run([sys.executable, str(ROOT / "stages" / "encode.py"), str(raw_dir), str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)
