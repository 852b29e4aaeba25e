"""namecnn predict: names from the command line or stdin, the model that answers (and a line naming it)."""
import json
import sys

import numpy as np

HELP = "the most likely languages of surnames"


def add(pr):
    pr.add_argument("names", nargs="+", metavar="NAME", help="surnames; - reads one a line from stdin")
    where = pr.add_mutually_exclusive_group()
    where.add_argument("--model", default="models", help="model folder (default: models, what dvc repro trained)")
    where.add_argument("--model-uri", help="an MLflow model URI: runs:/<run id>/model, models:/namecnn@champion")
    pr.add_argument("--top-k", type=int, default=3, help="languages shown per name (default 3)")
    pr.add_argument("--json", action="store_true", help="one JSON list on stdout (the model line stays on stderr)")
    pr.add_argument("--sets", action="store_true",
                    help="each name's prediction set: the languages that hold the true one for --coverage of names "
                         "like the training names (on average over names, not for each name)")
    pr.add_argument("--coverage", type=float, help="the sets' coverage (default: the model's, predict.coverage)")
    return pr


def stdin_names():
    """Standard input's lines as (names, their labels "stdin:LINE"); bytes that are not UTF-8 name their line."""
    from ..errors import NameCNNError

    lines = sys.stdin.buffer.read().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    names = []
    for i, line in enumerate(lines, 1):
        try:
            names.append(line.rstrip(b"\r").decode("utf-8-sig" if i == 1 else "utf-8"))
        except UnicodeDecodeError as e:
            raise NameCNNError(f"stdin:{i}: not UTF-8 text (byte 0x{line[e.start]:02x})") from None
    return names, [f"stdin:{i}" for i in range(1, len(names) + 1)]


def argument_name(arg):
    """A name from the command line; bytes that are not UTF-8 (kept by Python as surrogates) are an error."""
    from ..errors import NameCNNError

    try:
        arg.encode("utf-8")
    except UnicodeEncodeError as e:
        raw = arg.encode("utf-8", "surrogateescape")
        bad = arg[e.start].encode("utf-8", "surrogateescape")[0]
        raise NameCNNError(f"name '{str(raw[:60])[2:-1]}': not UTF-8 text (byte 0x{bad:02x})") from None
    return arg


def shown(name, limit=60):
    """A name as printed: control, bidi and other invisible characters escaped (a name cannot recolour the
    terminal or reverse the line), cut to `limit` characters."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in name)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(name)} characters)"


def run(args):
    from ..errors import NameCNNError
    from ..serving import loading, predict

    names, where = [], []
    for k, arg in enumerate(args.names, 1):
        if arg == "-":
            more, labels = stdin_names()
            names += more
            where += labels
        else:
            names.append(argument_name(arg))
            where.append(f"argument {k}")
    if not names:
        raise NameCNNError("no names given (pass names, or - to read one a line from stdin)")
    if args.top_k < 1:
        raise NameCNNError(f"--top-k must be >= 1, got {args.top_k}")
    params, meta, line = loading.from_uri(args.model_uri) if args.model_uri else loading.from_folder(args.model)
    P, notes, errors = predict.classify(params, meta, names)
    print(line, file=sys.stderr)                  # which model answered; stdout stays the answer alone
    for row, note in notes:
        print(f"warning: {where[row]}: {note}", file=sys.stderr)
    for row, error in errors.items():
        print(f"error: {where[row]}: {error}", file=sys.stderr)
    k = min(args.top_k, P.shape[1])
    tops = predict.top_k(np.nan_to_num(P), meta["classes"], k)
    rows = [{"name": n, "error": errors[i]} if i in errors else
            {"name": n, "language": t[0]["language"], "probability": t[0]["probability"], "top": t}
            for i, (n, t) in enumerate(zip(names, tops, strict=True))]
    if args.sets or args.coverage is not None:
        coverage = meta.get("calibration", {}).get("coverage") if args.coverage is None else args.coverage
        for r, labels in zip(rows, predict.set_labels(P, meta, args.coverage), strict=True):
            if "error" not in r:
                r["set"] = labels.split(" | ")
        mix = ", every language equally common" if meta["calibration"].get("prior") == "balanced" else ""
        print(f"sets at coverage {coverage:g}: on average over names like the training names{mix}, a set holds the "
              f"true language at least that often; not a promise for each name", file=sys.stderr)
    if args.json:
        print(json.dumps(rows))                   # \u escapes: valid JSON whatever the terminal's encoding
    else:
        sys.stdout.reconfigure(errors="backslashreplace")
        print("\n".join(f"{shown(r['name'])}: error: {r['error']}" if "error" in r else
                        f"{shown(r['name'])}: " + (("{" + ", ".join(r["set"]) + "}  ") if "set" in r else "")
                        + ", ".join(f"{t['language']} {t['probability']:.3f}" for t in r["top"]) for r in rows))
    if errors:
        raise NameCNNError(f"{len(errors)} of {len(names)} name(s) could not be classified (marked above); "
                           f"the others were answered")
