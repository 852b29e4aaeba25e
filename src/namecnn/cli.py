"""The `namecnn` command: bench, search, predict, compare."""
import argparse
import json

from . import bench, commands, config, data
from .errors import NameCNNError, guard
from .memory import keep_freed_memory


def int_list(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def bench_network(args, meta):
    """(train config, Arch) of the network to time: a params.yaml section as trained, or the flags."""
    if args.from_params:
        cfg = config.load_section(args.from_params, args.params)
        return config.train_config({**cfg, "impl": "fast"}, meta, args.from_params)
    if len(args.filters) != len(args.widths):
        raise NameCNNError(f"--filters has {len(args.filters)} entries, --widths {len(args.widths)}")
    cfg = {"seed": args.seed, "boundary": args.boundary, "layers": len(args.filters), "filters": args.filters,
           "widths": args.widths, "bias": not args.no_bias, "pool": args.pool, "bias_std": 0.0,
           "dropout": args.dropout, "weight_decay": args.weight_decay, "batch_size": args.batch, "steps": 1,
           "momentum": 0.9, "lr": {"kind": "constant", "value": 0.01}, "sampling": "balanced", "logit_adjust": 0.0,
           "shuffle": True, "eval_every": 1, "train_eval_size": 1, "dtype": args.dtype, "impl": "fast"}
    return config.train_config(cfg, meta, "bench")


def cmd_bench(args):
    splits, meta = data.load(args.data)
    cfg, arch = bench_network(args, meta)
    impls = ["fast", "reference"] if args.impl == "both" else [args.impl]
    roofline = bench.matmul_gflops(config.DTYPES[cfg["dtype"]], threads=args.threads)
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
    print(f"network {out['network']}, {cfg['dtype']}, {args.threads} BLAS thread(s); "
          f"roofline (matrix multiply) {roofline:.1f} GFLOP/s")
    for r in results:
        print(f"{r['impl']:<10} mean {r['mean_ms']:9.3f} ms/step  median {r['median_ms']:9.3f}  "
              f"(p10 {r['p10_ms']:.3f}, p90 {r['p90_ms']:.3f}; {r['steps']} steps)  "
              f"{r['gflops']:.2f} GFLOP/s of {r['mflop_per_step']:.1f} MFLOP a step")
    if len(results) == 2:
        print(f"speed-up   {out['speedup']:9.1f}x  (reference / fast, means)")


def cmd_search(args):
    from . import search, searchout, workers

    p = search.check(config.load_section("search", args.params))
    for key in ("n_trials", "storage", "study_name", "sampler"):
        if getattr(args, key) is not None:
            p[key] = getattr(args, key)
    p = search.check(p)
    _, meta = data.load(args.data)
    jobs = workers.resolve_jobs(p["workers"] if args.workers is None else args.workers)
    s = search.search(p, search.default_of(p, meta, args.params), args.data, args.out, jobs)
    print("\n".join(searchout.describe(s)))


def parser():
    ap = argparse.ArgumentParser(prog="namecnn", description="Surname -> language ConvNet in NumPy.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="time training steps as the loop pays them (batch, dropout, update)")
    b.add_argument("--from-params", metavar="SECTION",
                   help="time a train-like params.yaml section's network exactly as trained, e.g. train")
    b.add_argument("--params", default="params.yaml", help="with --from-params (default params.yaml)")
    b.add_argument("--impl", choices=["fast", "reference", "both"], default="fast", help="default fast")
    b.add_argument("--filters", type=int_list, default=[50, 50], help="default 50,50 (the study's)")
    b.add_argument("--widths", type=int_list, default=[7, 3], help="default 7,3")
    b.add_argument("--boundary", action="store_true", help="names between boundary marks")
    b.add_argument("--pool", action="store_true", help="max-pool over positions")
    b.add_argument("--dropout", type=float, default=0.0, help="default 0")
    b.add_argument("--weight-decay", type=float, default=0.0, help="default 0")
    b.add_argument("--batch", type=int, default=100, help="default 100")
    b.add_argument("--steps", type=int, default=1000, help="timed steps (default 1000)")
    b.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    b.add_argument("--reference-steps", type=int, default=None,
                   help="timed steps for the (slow) reference; default --steps")
    b.add_argument("--dtype", choices=sorted(config.DTYPES), default="float32", help="default float32")
    b.add_argument("--no-bias", action="store_true")
    b.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    b.add_argument("--seed", type=int, default=0, help="default 0")
    b.add_argument("--data", default="data/encoded", help="encoded data directory (default data/encoded)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)

    s = sub.add_parser("search", help="Optuna search with params.yaml's search section; trials join one study")
    s.add_argument("--workers", type=int, help="processes adding trials to the study (default: search.workers "
                                                 "in params.yaml; 0: one per core)")
    s.add_argument("--n-trials", type=int, help="total finished trials the study should hold")
    s.add_argument("--storage", help="journal file path, sqlite:///… or postgresql://… (default: search.storage)")
    s.add_argument("--study-name", help="base name of the study (default: search.study_name)")
    s.add_argument("--sampler", choices=["random", "tpe"])
    s.add_argument("--params", default="params.yaml")
    s.add_argument("--data", default="data/encoded", help="encoded data directory")
    s.add_argument("--out", default="reports/search", help="where trials.csv, best_params.json, plots go")
    s.set_defaults(func=cmd_search)

    pr = sub.add_parser("predict", help="the most likely languages of surnames")
    pr.add_argument("names", nargs="+", metavar="NAME", help="surnames; - reads one a line from stdin")
    where = pr.add_mutually_exclusive_group()
    where.add_argument("--model", default="models", help="model folder (default: models, what dvc repro trained)")
    where.add_argument("--model-uri", help="an MLflow model URI: runs:/<run id>/model, models:/namecnn@champion")
    pr.add_argument("--top-k", type=int, default=3, help="languages shown per name (default 3)")
    pr.add_argument("--json", action="store_true", help="one JSON list on stdout (the model line stays on stderr)")
    pr.set_defaults(func=commands.cmd_predict)

    c = sub.add_parser("compare", help="two evaluated train runs on the same validation names: the accuracy "
                                       "difference, its paired bootstrap interval, McNemar's p, the names that differ")
    c.add_argument("a", metavar="A", help="a run id, a DVC experiment name, models:/namecnn@champion or champion")
    c.add_argument("b", metavar="B", nargs="?", default="champion", help="the same kinds (default champion)")
    c.add_argument("--bootstrap", type=int, default=2000, help="resamples (default 2000)")
    c.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=commands.cmd_compare)
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    keep_freed_memory()
    guard(lambda: args.func(args))


if __name__ == "__main__":
    main()
