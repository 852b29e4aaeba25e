import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import RAW, ROOT, TINY, free_port, merge, sh


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


@pytest.fixture(scope="session")
def repo(tmp_path_factory, raw_dir):
    """A git + DVC repository holding the project's files as they are now, tiny params, the raw data."""
    dst = tmp_path_factory.mktemp("pipeline") / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if f.startswith(("reports/", "dvc.lock")) or not (ROOT / f).is_file():
            continue
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    shutil.copytree(raw_dir, dst / "data" / "raw")
    params = yaml.safe_load((dst / "params.yaml").read_text())
    (dst / "params.yaml").write_text(yaml.safe_dump(merge(params, TINY), sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    sh(["git", "init", "-q", "-b", "main"], dst, env)
    sh(["git", "add", "-A"], dst, env)
    sh(["git", "commit", "-qm", "tiny"], dst, env)
    return dst, env


@pytest.fixture(scope="session")
def repro(repo):
    """`dvc repro`, its results committed as the project's main holds them (experiments compare against it)."""
    dst, env = repo
    out = sh(["dvc", "repro"], dst, env)
    sh(["git", "add", "-A"], dst, env)
    sh(["git", "commit", "-qm", "results"], dst, env)
    return out


@pytest.fixture
def work(tmp_path, encoded):
    """A project folder: .dvc/, the encoded data, an environment without MLflow or DVC settings."""
    (tmp_path / ".dvc").mkdir()
    shutil.copytree(encoded, tmp_path / "data" / "encoded")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    return tmp_path, env


@pytest.fixture(scope="session")
def pg():
    """A throw-away PostgreSQL server on 127.0.0.1 (a free port), in a temporary directory -> db(name), which
    creates database `name` once and returns its URL."""
    bins = [os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    initdb = shutil.which("initdb") or (os.path.join(bins[-1], "initdb") if bins else None)
    if initdb is None:
        pytest.skip("no PostgreSQL server here (.ci/run installs Debian's postgresql)")
    bindir = os.path.dirname(os.path.realpath(initdb))
    base = Path(tempfile.mkdtemp(prefix="namecnn-pg-"))     # outside pytest's root-only folder
    as_user = []
    if os.geteuid() == 0:                                  # postgres refuses to run as root
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True, timeout=120)
    subprocess.run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                              "-t", "60", "-o", f"-p {port} -h 127.0.0.1 -k {base}", "start"],
                   check=True, capture_output=True, timeout=90)
    made = set()

    def db(name):
        if name not in made:
            subprocess.run([os.path.join(bindir, "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                            name], check=True, capture_output=True, timeout=60)
            made.add(name)
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    try:
        for _ in range(50):
            if subprocess.run([os.path.join(bindir, "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        yield db
    finally:
        subprocess.run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                  "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
