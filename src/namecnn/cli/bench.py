"""namecnn bench: time training steps of a params.yaml network as the training loop pays them."""
import argparse
import json

HELP = "time training steps as the loop pays them (batch, dropout, update) of a params.yaml network"


def int_list(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def add(b):
    b.add_argument("--network", default="train",
                   help="train (the default network) or a study.configs name, e.g. t8_cyclic (default train)")
    b.add_argument("--params", default="params.yaml")
    b.add_argument("--filters", type=int_list, help="override: filters per layer, e.g. 50,50")
    b.add_argument("--widths", type=int_list, help="override: widths per layer (as many as --filters)")
    b.add_argument("--dropout", type=float, help="override the network's dropout")
    b.add_argument("--batch", type=int, help="override the batch size")
    b.add_argument("--dtype", choices=["float32", "float64"], help="override the dtype")
    b.add_argument("--impl", choices=["fast", "reference", "both"], default="fast", help="default fast")
    b.add_argument("--steps", type=int, default=1000, help="timed steps (default 1000)")
    b.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    b.add_argument("--reference-steps", type=int, default=None,
                   help="timed steps for the (slow) reference; default --steps")
    b.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    b.add_argument("--data", default="data/encoded", help="encoded data directory (default data/encoded)")
    b.add_argument("--json", action="store_true")
    return b


def network(args, meta):
    """(train config, Arch): the named network of params.yaml, with the flags' overrides."""
    from ..errors import NameCNNError
    from ..study import networks
    from ..training import recipe

    cfg, _ = networks.named(args.network, meta, args.params)
    if (args.filters is None) != (args.widths is None) or (args.filters and len(args.filters) != len(args.widths)):
        raise NameCNNError(f"--filters and --widths go together, one entry a layer; got {args.filters} and "
                           f"{args.widths}")
    over = {"layers": len(args.filters), "filters": args.filters, "widths": args.widths} if args.filters else {}
    over.update({k: v for k, v in (("dropout", args.dropout), ("batch_size", args.batch), ("dtype", args.dtype))
                 if v is not None})
    return recipe.train_config({**cfg, **over, "impl": "fast"}, meta, "bench")


def run(args):
    from .. import data
    from ..training import bench, recipe

    splits, meta = data.load(args.data)
    cfg, arch = network(args, meta)
    impls = ["fast", "reference"] if args.impl == "both" else [args.impl]
    roofline = bench.matmul_gflops(recipe.DTYPES[cfg["dtype"]], threads=args.threads)
    results = []
    for impl in impls:
        steps = args.steps if impl == "fast" or args.reference_steps is None else args.reference_steps
        times = bench.time_training({**cfg, "impl": impl}, arch, splits["train"], steps,
                                    warmup=min(args.warmup, steps) if impl == "reference" else args.warmup,
                                    threads=args.threads)
        results.append({"impl": impl, **bench.summarise(times, arch, cfg["batch_size"])})
    out = {"network": {k: cfg[k] for k in bench.NETWORK_KEYS}, "dtype": cfg["dtype"], "threads": args.threads,
           "roofline_gflops": roofline, "results": results}
    if len(results) == 2:
        out["speedup"] = results[1]["mean_ms"] / results[0]["mean_ms"]
    if args.json:
        print(json.dumps(out))
        return
    print(f"network {args.network} {out['network']}, {cfg['dtype']}, {args.threads} BLAS thread(s); "
          f"roofline (matrix multiply) {roofline:.1f} GFLOP/s")
    for r in results:
        print(f"{r['impl']:<10} mean {r['mean_ms']:9.3f} ms/step  median {r['median_ms']:9.3f}  "
              f"(p10 {r['p10_ms']:.3f}, p90 {r['p90_ms']:.3f}; {r['steps']} steps)  "
              f"{r['gflops']:.2f} GFLOP/s of {r['mflop_per_step']:.1f} MFLOP a step")
    if len(results) == 2:
        print(f"speed-up   {out['speedup']:9.1f}x  (reference / fast, means)")
