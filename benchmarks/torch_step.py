"""The same training step in PyTorch (nn.Conv1d), side by side with namecnn's NumPy step, for any network.

    python benchmarks/torch_step.py --from-params train --steps 1000 --repeats 5    # the default network
    python benchmarks/torch_step.py --network t8_cyclic --steps 1000 --repeats 5    # the study's (study.configs)

Both run one thread (torch.set_num_threads(1), one BLAS thread for NumPy), float32, on the encoded training
names, with the network exactly as trained: boundary marks, conv layers with biases and ReLU, max-pool over
positions or flatten, inverted dropout on the dense input, a dense layer, softmax cross-entropy, weight decay,
SGD with momentum. Each step is timed as a training loop pays it: drawing the batch (namecnn's sampling
stream for both), gathering its rows, the one-hot input (PyTorch) and the dropout mask included. The two
alternate `--repeats` times; each repeat's mean over `--steps` steps is a sample, and the table shows the
median and the spread of those means. Needs torch (`pip install torch==2.13.0`, the extra `.[torch]`);
exits 2 without it.
"""
import argparse
import json
import sys
import time

import numpy as np

from namecnn import data
from namecnn.errors import guard
from namecnn.study import networks
from namecnn.training import bench, sampling
from namecnn.training.memory import keep_freed_memory


def torch_times(cfg, arch, split, steps, warmup=20):
    """Per-step milliseconds of the PyTorch version of cfg's training loop."""
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(cfg["seed"])
    layers, c_in = [], arch.d
    for n, k in zip(arch.filters, arch.widths, strict=True):
        layers += [nn.Conv1d(c_in, n, k, bias=arch.bias), nn.ReLU()]
        c_in = n
    layers += [nn.AdaptiveMaxPool1d(1)] if arch.pool else []
    net = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(cfg["dropout"]), nn.Linear(arch.dense_in, arch.n_classes))
    decay = [p for name, p in net.named_parameters() if name.endswith("weight")]
    rest = [p for name, p in net.named_parameters() if not name.endswith("weight")]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 2 * cfg["weight_decay"]},   # d/dw of reg * w^2
                           {"params": rest, "weight_decay": 0.0}], lr=0.01, momentum=cfg["momentum"])
    loss_fn = nn.CrossEntropyLoss()
    X = data.inputs(split, cfg["boundary"])["X"]
    Xt, yt = torch.from_numpy(X.astype(np.int64)), torch.from_numpy(split["y"].astype(np.int64))
    stream = sampling.batches(split["y"].astype(np.int64), cfg["batch_size"], np.random.default_rng(cfg["seed"]),
                              cfg["sampling"], cfg["shuffle"])
    net.train()
    times = np.empty(warmup + steps)
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        rows = torch.from_numpy(next(stream))
        xb = nn.functional.one_hot(Xt[rows], arch.d + 1)[..., :arch.d].transpose(1, 2).float()  # (N, d, n_len)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yt[rows])
        loss.backward()
        opt.step()
        times[i] = time.perf_counter() - t0
    return 1e3 * times[warmup:], torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", default="t8_cyclic",
                    help="train (the default network) or a study.configs name (default t8_cyclic)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5, help="alternate the two this many times")
    ap.add_argument("--data", default="data/encoded")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: pip install torch==2.13.0 (or the extra .[torch])", file=sys.stderr)
        sys.exit(2)
    keep_freed_memory()
    splits, meta = data.load(args.data)
    cfg, arch = networks.named(args.network, meta, args.params)
    cfg = {**cfg, "dtype": "float32", "impl": "fast"}
    fast, ref = [], []
    for _ in range(args.repeats):
        fast.append(float(np.mean(bench.time_training(cfg, arch, splits["train"], args.steps))))
        ms, version = torch_times(cfg, arch, splits["train"], args.steps)
        ref.append(float(np.mean(ms)))
    out = {"network": {k: cfg[k] for k in ("boundary", "filters", "widths", "bias", "pool", "dropout",
                                            "weight_decay", "batch_size")},
           "steps": args.steps, "repeats": args.repeats, "torch_version": version,
           "numpy_mean_ms": float(np.median(fast)), "numpy_runs": fast,
           "torch_mean_ms": float(np.median(ref)), "torch_runs": ref}
    out["ratio"] = out["numpy_mean_ms"] / out["torch_mean_ms"]
    out["ratio_runs"] = [f / t for f, t in zip(fast, ref, strict=True)]
    if args.json:
        print(json.dumps(out))
        return
    print(f"network {out['network']}, {args.steps} steps x {args.repeats} repeats, one thread")
    for label, ms, runs in (("numpy", out["numpy_mean_ms"], fast), (f"torch {version}", out["torch_mean_ms"], ref)):
        print(f"{label:<18}{ms:8.3f} ms/step (median of means)  runs {min(runs):.3f}–{max(runs):.3f}")
    print(f"numpy / torch {out['ratio']:.3f}  (per pair {min(out['ratio_runs']):.3f}–{max(out['ratio_runs']):.3f})")


if __name__ == "__main__":
    guard(main)
