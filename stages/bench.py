"""bench stage: ms per training step of the study's and the default network, as the training loop pays them
(batch drawn and gathered, dropout mask, loss, gradients, update; one BLAS thread), the study's network also
with the reference (the study's slow method), beside the arithmetic done and the machine's roofline."""
import argparse

import numpy as np

from namecnn import config, data, fsio
from namecnn.errors import guard
from namecnn.study import networks
from namecnn.training import bench, recipe
from namecnn.training.memory import keep_freed_memory


def timed(cfg, arch, split, steps, repeats):
    """`repeats` runs of `steps` steps: each run's mean is a sample; median and spread of those means."""
    runs = [bench.time_training(cfg, arch, split, steps, warmup=min(20, steps)) for _ in range(repeats)]
    means = [float(np.mean(t)) for t in runs]
    out = {**bench.summarise(np.concatenate(runs), arch, cfg["batch_size"]), "mean_ms": float(np.median(means)),
           "run_means_ms": means, "repeats": repeats}
    out["gflops"] = out["mflop_per_step"] / out["mean_ms"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_json")
    args = ap.parse_args()
    p = config.section("bench")
    train = config.section("train")
    splits, meta = data.load(args.encoded_dir)
    nets = {"study": networks.network(config.section("study"), p["study_network"], meta, train),
            "default": recipe.train_config(train, meta)}
    names = {"study": p["study_network"], "default": "train"}
    keep_freed_memory()
    result = {"roofline_gflops": bench.matmul_gflops(np.float32), "threads": 1, "networks": {}}
    for role, (cfg, arch) in nets.items():
        cfg = {**cfg, "dtype": "float32", "impl": "fast"}
        entry = {"name": names[role], **{k: cfg[k] for k in bench.NETWORK_KEYS},
                 "fast": timed(cfg, arch, splits["train"], p["steps"], p["repeats"])}
        if role == "study":
            entry["reference"] = timed({**cfg, "impl": "reference"}, arch, splits["train"], p["reference_steps"], 1)
            entry["speedup"] = entry["reference"]["mean_ms"] / entry["fast"]["mean_ms"]
        result["networks"][role] = entry
        f = entry["fast"]
        print(f"bench {role} ({entry['name']}): {f['mean_ms']:.3f} ms/step (median of {p['repeats']} means, "
              f"{min(f['run_means_ms']):.3f}–{max(f['run_means_ms']):.3f}), {f['gflops']:.1f} GFLOP/s of "
              f"{result['roofline_gflops']:.0f}" + (f"; reference {entry['reference']['mean_ms']:.0f} ms/step, "
                                                  f"{entry['speedup']:.0f}x" if "speedup" in entry else ""))
    fsio.write_json(args.out_json, result)


if __name__ == "__main__":
    guard(main)
