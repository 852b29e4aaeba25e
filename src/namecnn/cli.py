"""The `namecnn` command: bench, search, predict."""
import argparse
import json
import sys

from . import bench, config, data, model, modelio, predict
from .errors import NameCNNError, run
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


def load_model(args):
    """--model-uri (an MLflow URI) or --model (a folder, default the one `dvc repro` trained)."""
    if not args.model_uri:
        return modelio.load(args.model)
    from mlflow.exceptions import MlflowException

    from . import tracking

    tracking.connect()
    import mlflow

    try:
        loaded = mlflow.pyfunc.load_model(args.model_uri).unwrap_python_model()
    except (MlflowException, OSError) as e:
        raise NameCNNError(f"--model-uri {args.model_uri}: {str(e).splitlines()[0][:300]}") from None
    return loaded.params, loaded.meta


def stdin_names():
    """Standard input's lines as names; bytes that are not UTF-8 name their line."""
    lines = sys.stdin.buffer.read().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    names = []
    for i, line in enumerate(lines, 1):
        try:
            names.append(line.rstrip(b"\r").decode("utf-8-sig" if i == 1 else "utf-8"))
        except UnicodeDecodeError as e:
            raise NameCNNError(f"stdin:{i}: not UTF-8 text (byte 0x{line[e.start]:02x})") from None
    return names


def argument_name(arg):
    """A name from the command line; bytes that are not UTF-8 (kept by Python as surrogates) are an error."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError as e:
        raw = arg.encode("utf-8", "surrogateescape")
        bad = arg[e.start].encode("utf-8", "surrogateescape")[0]
        raise NameCNNError(f"name '{str(raw[:60])[2:-1]}': not UTF-8 text (byte 0x{bad:02x})") from None
    return arg


def cmd_predict(args):
    names = [n for arg in args.names for n in (stdin_names() if arg == "-" else [argument_name(arg)])]
    if not names:
        raise NameCNNError("no names given (pass names, or - to read one a line from stdin)")
    if args.top_k < 1:
        raise NameCNNError(f"--top-k must be >= 1, got {args.top_k}")
    params, meta = load_model(args)
    X, notes = predict.encode_names(names, meta)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    P = model.predict_proba(params, X)
    tops = predict.top_k(P, meta["classes"], min(args.top_k, P.shape[1]))
    rows = [{"name": n, "language": t[0]["language"], "probability": t[0]["probability"], "top": t}
            for n, t in zip(names, tops, strict=True)]
    if args.json:
        print(json.dumps(rows))                   # \u escapes: valid JSON whatever the terminal's encoding
        return
    sys.stdout.reconfigure(errors="backslashreplace")
    for r in rows:
        print(f"{r['name']}: " + ", ".join(f"{t['language']} {t['probability']:.3f}" for t in r["top"]))


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
    pr.add_argument("--top-k", type=int, default=3)
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_predict)
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    keep_freed_memory()
    run(lambda: args.func(args))


if __name__ == "__main__":
    main()
