"""lr_range stage: Smith's LR range test on the default network (the train section, with the test's own seed);
suggests lr.min and lr.max."""
import argparse
from pathlib import Path

import numpy as np

from namecnn import config, data, fsio
from namecnn.errors import guard
from namecnn.reporting import plots
from namecnn.training import lrrange, recipe
from namecnn.training.memory import keep_freed_memory


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args()
    p = config.section("lr_range")
    splits, meta = data.load(args.encoded_dir)
    cfg, arch = recipe.train_config({**config.section("train"), "seed": p["seed"]}, meta)
    keep_freed_memory()
    rows = lrrange.sweep(cfg, arch, splits["train"], np.random.default_rng(cfg["seed"]), p["lr_start"], p["lr_end"],
                       p["steps"], p["smoothing"])
    suggestion = lrrange.suggest(rows)
    out = Path(args.out_dir)
    fsio.write_csv(out / "lr_range.csv", rows)
    fsio.write_json(out / "suggestion.json", suggestion)
    plots.save(plots.lr_range(rows, suggestion), out / "lr_range.png")
    print(f"lr_range: {suggestion['steps_run']} steps; suggested lr.min {suggestion['min']:.3g}, "
          f"lr.max {suggestion['max']:.3g} (smoothed accuracy peaks at {suggestion['peak_acc']:.3f})")


if __name__ == "__main__":
    guard(main)
