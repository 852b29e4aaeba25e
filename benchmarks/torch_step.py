"""The same training step in PyTorch (nn.Conv1d), beside namecnn's fast NumPy step.

    python benchmarks/torch_step.py --filters 50,50 --widths 7,3 --batch 100 --steps 500

Both run one thread (torch.set_num_threads(1), one BLAS thread for NumPy), float32, on the encoded
training names, one random batch a step: one-hot input, conv layers with biases and ReLU, a dense
layer, softmax cross-entropy, SGD with momentum 0.9. Prints a table and, with --json, one JSON line.
Needs torch (`pip install torch==2.13.0`, the optional extra `.[torch]`); exits 2 without it.
"""
import argparse
import json
import sys
import time

import numpy as np

from namecnn import bench, data, model
from namecnn.cli import int_list
from namecnn.memory import keep_freed_memory


def torch_ms_per_step(X, y, arch, batch, steps, seed, warmup=5):
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    convs, c_in = [], arch.d
    for n, k in zip(arch.filters, arch.widths, strict=True):
        convs += [nn.Conv1d(c_in, n, k, bias=arch.bias), nn.ReLU()]
        c_in = n
    net = nn.Sequential(*convs, nn.Flatten(), nn.Linear(arch.dense_in, arch.n_classes))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X.astype(np.int64)), torch.from_numpy(y)
    rng = np.random.default_rng(seed)
    times = []
    for i in range(warmup + steps):
        rows = torch.from_numpy(rng.integers(0, len(X), size=batch))
        t0 = time.perf_counter()
        xb = nn.functional.one_hot(Xt[rows], arch.d + 1)[..., :arch.d].transpose(1, 2).float()  # (N, d, n_len)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yt[rows])
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times)), torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filters", type=int_list, default=[50, 50])
    ap.add_argument("--widths", type=int_list, default=[7, 3])
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3, help="alternate the two this many times; medians")
    ap.add_argument("--seed", type=int, default=0)
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
    X, y = splits["train"]["X"], splits["train"]["y"].astype(np.int64)
    arch = model.Arch(meta["d"], meta["n_len"], meta["n_classes"], tuple(args.filters), tuple(args.widths))
    fast, ref = [], []
    for r in range(args.repeats):
        fast.append(bench.time_steps(X, y, arch, impl="fast", batch=args.batch, steps=args.steps,
                                     dtype=np.float32, seed=args.seed + r))
        ms, version = torch_ms_per_step(X, y, arch, args.batch, args.steps, args.seed + r)
        ref.append(ms)
    out = {"filters": args.filters, "widths": args.widths, "batch": args.batch, "steps": args.steps,
           "repeats": args.repeats, "numpy_fast_ms": float(np.median(fast)),
           "torch_ms": float(np.median(ref)), "torch_version": version}
    out["ratio"] = out["numpy_fast_ms"] / out["torch_ms"]
    if args.json:
        print(json.dumps(out))
        return
    print(f"numpy fast  {out['numpy_fast_ms']:8.3f} ms/step   runs: {', '.join(f'{t:.3f}' for t in fast)}")
    print(f"torch {version:<6}{out['torch_ms']:8.3f} ms/step   runs: {', '.join(f'{t:.3f}' for t in ref)}")
    print(f"fast / torch {out['ratio']:.2f}")


if __name__ == "__main__":
    main()
