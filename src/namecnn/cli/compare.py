"""namecnn compare: two evaluated train runs on the same validation names."""
import json

MAX_BOOTSTRAP = 100_000          # 216 names x 100,000 resamples: 170 MB, seconds; more says nothing new
HELP = ("two evaluated train runs on the same validation names: the accuracy difference, its paired bootstrap "
        "interval, McNemar's p, the names that differ")


def add(c):
    c.add_argument("a", metavar="A", help="a run id, a DVC experiment, a git revision (main, HEAD, a tag) or "
                                          "workspace, models:/namecnn/3 or champion")
    c.add_argument("b", metavar="B", nargs="?", default="champion", help="the same kinds (default champion)")
    c.add_argument("--bootstrap", type=int, default=2000, help="resamples (default 2000)")
    c.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    c.add_argument("--json", action="store_true")
    return c


def run(args):
    import numpy as np

    from ..errors import NameCNNError
    from ..scoring import compare
    from ..tracking import lookup, store

    if not 0 < args.level < 1:
        raise NameCNNError(f"--level must be in (0, 1), got {args.level}")
    if not 1 <= args.bootstrap <= MAX_BOOTSTRAP:
        raise NameCNNError(f"--bootstrap must be 1 to {MAX_BOOTSTRAP}, got {args.bootstrap}")
    if not 0 <= args.seed < 2**63:
        raise NameCNNError(f"--seed must be 0 to 2**63 - 1, got {args.seed}")
    store.connect()
    ra, rb = lookup.find_run(args.a), lookup.find_run(args.b)
    pa, pb = lookup.predictions(ra.info.run_id), lookup.predictions(rb.info.run_id)
    c = compare.by_name(pa, pb, np.random.default_rng(args.seed), args.bootstrap, args.level)
    if args.json:
        print(json.dumps({**c, "a": ra.info.run_id, "b": rb.info.run_id}))
        return
    for side, r in (("A", ra), ("B", rb)):
        print(f"{side} = {r.info.run_name} ({r.info.run_id[:8]}): val acc {c[f'acc_{side.lower()}']:.4f}")
    print(compare.verdict(c))
    for side, mine, theirs in (("A", pa, pb), ("B", pb, pa)):
        other = "B" if side == "A" else "A"
        names = c[f"names_only_{side.lower()}"]
        print(f"right only by {side} ({len(names)}): "
              + ", ".join(f"{n} ({mine[n][0]}; {other} said {theirs[n][1]})" for n in names))
