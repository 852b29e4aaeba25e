"""The `predict` and `compare` commands: names from the command line or stdin, the model that answers (and
a line naming it), and two evaluated runs compared on the same validation names."""
import json
import sys

import numpy as np

from . import compare, loading, model, predict, registry, tracking
from .errors import NameCNNError


def cmd_compare(args):
    if not 0 < args.level < 1 or args.bootstrap < 1:
        raise NameCNNError(f"--level must be in (0, 1) and --bootstrap >= 1, got {args.level} and {args.bootstrap}")
    tracking.connect()
    ra, rb = registry.find_run(args.a), registry.find_run(args.b)
    pa, pb = registry.predictions(ra.info.run_id), registry.predictions(rb.info.run_id)
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
    params, meta, line = loading.from_uri(args.model_uri) if args.model_uri else loading.from_folder(args.model)
    X, notes = predict.encode_names(names, meta)
    P = model.predict_proba(params, X)
    print(line, file=sys.stderr)                  # which model answered; stdout stays the answer alone
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    tops = predict.top_k(P, meta["classes"], min(args.top_k, P.shape[1]))
    rows = [{"name": n, "language": t[0]["language"], "probability": t[0]["probability"], "top": t}
            for n, t in zip(names, tops, strict=True)]
    if args.json:
        print(json.dumps(rows))                   # \u escapes: valid JSON whatever the terminal's encoding
        return
    sys.stdout.reconfigure(errors="backslashreplace")
    for r in rows:
        print(f"{r['name']}: " + ", ".join(f"{t['language']} {t['probability']:.3f}" for t in r["top"]))
