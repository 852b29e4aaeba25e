"""How long `namecnn predict -` takes over many names with one bad line, as a user pipes a list in.

    python benchmarks/predict_many.py --names 1000000      # the default network's shape, random weights

The model has the train section's architecture (the time does not depend on the weights): `models/` when it is
there, else one made here. Prints the wall time, the rows answered, and the error rows with their line numbers.
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from namecnn import config, data
from namecnn.errors import guard
from namecnn.nn import model, modelio
from namecnn.training import recipe


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=1_000_000)
    ap.add_argument("--data", default="data/encoded")
    ap.add_argument("--model", default=None, help="a model folder (default: models/ if present, else random)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or ("models" if Path("models/model.json").is_file() else None)
        if folder is None:
            _, meta = data.load(args.data)
            cfg, arch = recipe.train_config(config.section("train"), meta)
            folder = f"{tmp}/model"
            modelio.save(folder, model.init_params(arch, np.random.default_rng(0), np.float32),
                         modelio.model_meta(arch, meta, cfg))
        text = "cruz\n" * (args.names - 1) + "😀\n"
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "namecnn.cli", "predict", "-", "--model", folder],
                           input=text, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    lines = r.stdout.splitlines()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: stdin:")]
    print(f"{args.names} names in {seconds:.1f} s (exit {r.returncode}): {len(lines)} rows, "
          f"{sum(': error: ' not in line for line in lines)} answered, error rows: {errors}")


if __name__ == "__main__":
    guard(main)
