"""namecnn predict: names from the command line or stdin, the model that answers (and a line naming it)."""
import json
import sys

HELP = "the most likely languages of surnames"


def add(pr):
    pr.add_argument("names", nargs="+", metavar="NAME", help="surnames; - reads one a line from stdin")
    where = pr.add_mutually_exclusive_group()
    where.add_argument("--model", default="models", help="model folder (default: models, what dvc repro trained)")
    where.add_argument("--model-uri", help="an MLflow model URI: runs:/<run id>/model, models:/namecnn@champion")
    pr.add_argument("--top-k", type=int, default=3, help="languages shown per name (default 3)")
    pr.add_argument("--json", action="store_true", help="one JSON list on stdout (the model line stays on stderr)")
    return pr


def stdin_names():
    """Standard input's lines as names; bytes that are not UTF-8 name their line."""
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
    return names


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


def run(args):
    from ..errors import NameCNNError
    from ..nn import model
    from ..serving import loading, predict

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
