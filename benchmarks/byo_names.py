"""Bring your own names, timed: from a made-up folder of 3 languages to a served model's answer.

    python benchmarks/byo_names.py                 # the default network; dvc repro up to evaluate
    python benchmarks/byo_names.py --tiny --all    # what the test runs: tiny params, every stage

A fresh project (the files git tracks, no data) in a temporary folder; `made_up` writes 100 names a language
(syllables of each language, seeded, with accents, a duplicate and a name under two languages); then, as a user
would: `namecnn data import`, the `dvc add` and `git commit` it prints, `dvc repro` (up to evaluate, or every
stage), `namecnn predict`, and `mlflow models serve` of models:/namecnn@champion until it answers. Prints each
step's wall time, and the total from the import to the served answer, as JSON.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SYLLABLES = {"Elvish": ["ael", "ith", "wen", "ion", "dir", "las", "thra", "riel", "gal", "cel"],
             "Dwarvish": ["thor", "gim", "dur", "bal", "in", "grim", "khaz", "orn", "dain", "nal"],
             "Hobbit": ["bag", "gins", "took", "brandy", "buck", "foot", "bot", "tom", "hay", "ward"]}


def made_up(folder, per_language=100, seed=0):
    """<Language>.txt files of made-up names -> the folder. Elvish's first name is written with an accent, listed
    twice; `Shared` is listed under Elvish and Dwarvish."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for language, syllables in SYLLABLES.items():
        names = set()
        while len(names) < per_language:
            names.add("".join(rng.choice(syllables, size=rng.integers(2, 4))).capitalize())
        names = sorted(names)
        extra = {"Elvish": [names[0].replace("a", "á", 1), "Shared"], "Dwarvish": ["Shared"]}.get(language, [])
        (folder / f"{language}.txt").write_text("\n".join(names + extra + names[:1]) + "\n")
    return folder


def project(dst, over=None):
    """The project's files (what git tracks or would: no data, no results) in a new git repository at dst, params
    merged with `over`."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if f.startswith(("reports/", "dvc.lock", "data/raw.dvc")) or not (ROOT / f).is_file():
            continue
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    if over:
        sys.path.insert(0, str(ROOT / "tests"))
        from helpers import merge

        (dst / "params.yaml").write_text(yaml.safe_dump(merge(yaml.safe_load((dst / "params.yaml").read_text()),
                                                              over), sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "project"]):
        subprocess.run(cmd, cwd=dst, env=env, check=True, capture_output=True)
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served_answer(cwd, env, names, wait=120, tracking_uri=None):
    """`mlflow models serve` of the champion (from the project's store, or `tracking_uri`'s), until its
    /invocations answers `names` -> the rows it returns."""
    port = free_port()
    cmd = [str(BIN / "mlflow"), "models", "serve", "-m", "models:/namecnn@champion", "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port)]
    env = {**env, "MLFLOW_TRACKING_URI": tracking_uri or f"sqlite:///{cwd / 'mlflow.db'}"}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + wait
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow models serve exited with {proc.returncode}")
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", method="POST",
                                             data=json.dumps({"inputs": names}).encode(),
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    return json.loads(r.read())["predictions"]
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", help="where the project goes (default: a new temporary folder, removed after)")
    ap.add_argument("--tiny", action="store_true", help="the tests' tiny params (tests/helpers.py TINY)")
    ap.add_argument("--all", action="store_true", help="dvc repro every stage (default: up to evaluate)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="byo-"))
    dst = work / "project"
    dst.mkdir(parents=True)
    over = None
    if args.tiny:
        sys.path.insert(0, str(ROOT / "tests"))
        from helpers import TINY
        over = TINY
    env = project(dst, over)
    src = made_up(work / "names")
    steps, lines = {}, {}

    def step(name, cmd):
        start = time.time()
        r = subprocess.run(cmd, cwd=dst, env=env, capture_output=True, text=True)
        steps[name] = round(time.time() - start, 2)
        if r.returncode:
            sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        lines[name] = r.stdout
        return r.stdout

    printed = step("import", [str(BIN / "namecnn"), "data", "import", str(src)])
    for cmd in [line.split("#")[0].split() for line in printed.splitlines() if line.startswith("  dvc add")
                or line.startswith("  git add")]:
        step(" ".join(cmd[:2]), cmd)
    step("git commit", ["git", "commit", "-qm", "data: made-up names"])
    step("dvc repro", ["dvc", "repro"] + ([] if args.all else ["evaluate"]))
    step("predict", [str(BIN / "namecnn"), "predict", "Gimthorin", "Élrondiel", "Bagginsfoot"])
    start = time.time()
    rows = served_answer(dst, env, ["Gimthorin", "Élrondiel", "Bagginsfoot"])
    steps["serve"] = round(time.time() - start, 2)
    print(json.dumps({"steps_seconds": steps, "import_to_served_answer_seconds": round(sum(steps.values()), 1),
                      "predict": lines["predict"].splitlines()[:3], "served": [[r["name"], r["language"],
                                                                                round(r["probability"], 3)]
                                                                               for r in rows],
                      "project": str(dst), "import": lines["import"]}, indent=1))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
