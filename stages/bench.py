"""bench stage: milliseconds per training step, fast vs reference, for the report's speed table."""
import argparse

import numpy as np

from namecnn import bench, config, data, fsio
from namecnn.errors import run
from namecnn.memory import keep_freed_memory

KEYS = ("filters", "widths", "batch", "steps", "reference_steps", "dtype", "repeats")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_json")
    args = ap.parse_args()
    p = config.section("bench", KEYS)
    for key in ("batch", "steps", "reference_steps", "repeats"):
        config.number(p, key, "bench", 1, integer=True)
    config.choice(p, "dtype", "bench", tuple(config.DTYPES))
    splits, meta = data.load(args.encoded_dir)
    arch = config.resolve_arch({**p, "layers": len(p["filters"]), "bias": True, "pool": False}, "bench", meta)
    keep_freed_memory()
    X, y = splits["train"]["X"], splits["train"]["y"].astype(np.int64)
    result = {"filters": list(arch.filters), "widths": list(arch.widths), "batch": p["batch"], "dtype": p["dtype"],
              "threads": 1}
    for impl, steps in (("fast", p["steps"]), ("reference", p["reference_steps"])):
        runs = [bench.time_steps(X, y, arch, impl=impl, batch=p["batch"], steps=steps,
                                 dtype=config.DTYPES[p["dtype"]], seed=r) for r in range(p["repeats"])]
        result[impl] = {"ms_per_step": float(np.median(runs)), "runs": runs, "steps": steps}
    result["speedup"] = result["reference"]["ms_per_step"] / result["fast"]["ms_per_step"]
    fsio.write_json(args.out_json, result)
    print(f"bench: fast {result['fast']['ms_per_step']:.3f} ms/step, reference "
          f"{result['reference']['ms_per_step']:.1f} ms/step, speed-up {result['speedup']:.0f}x")


if __name__ == "__main__":
    run(main)
