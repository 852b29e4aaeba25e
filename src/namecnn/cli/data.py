"""namecnn data import: a user's name lists (or the DD2424 layout) -> data/raw, and how to track it with DVC."""
HELP = "bring your own names: `namecnn data import SRC` writes data/raw from a folder of <Language>.txt files"


def add(p):
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("import", help=HELP, description=HELP)
    s.add_argument("src", help="a folder of <Language>.txt files, one name per line, any script (the PyTorch "
                               "tutorial's data/names/), or a folder in the DD2424 layout (copied as it is)")
    s.add_argument("--out", default="data/raw", help="the raw folder to write (default: data/raw)")
    s.add_argument("--val", type=int, default=12, help="validation names a language (default 12, as DD2424)")
    s.add_argument("--unseen", type=int, default=5, help="names a language kept out of training and validation, "
                                                         "the unseen names (default 5)")
    s.add_argument("--seed", type=int, default=0, help="seed of the validation and unseen draws")
    s.add_argument("--conflicts", choices=["keep", "drop"], default="keep",
                   help="names listed under several languages: keep them under each for training (as the DD2424 "
                        "edition does; never validated on), or drop them")
    s.add_argument("--force", action="store_true", help="replace an --out folder that already holds files")
    return p


def run(args):
    from pathlib import Path

    from .. import rawdata
    from ..errors import NameCNNError

    out = Path(args.out)
    if args.val < 1 or args.unseen < 0:
        raise NameCNNError(f"--val must be at least 1 and --unseen at least 0, got {args.val} and {args.unseen}")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise NameCNNError(f"{out}: already holds files; pass --force to replace them (a DVC-tracked folder can be "
                           f"restored with `dvc checkout {out}`)")
    s = rawdata.import_names(args.src, out, args.val, args.unseen, args.seed, args.conflicts)
    print("\n".join(summary(s, out)))


def summary(s, out):
    if s["kind"] == "dd2424":
        what = "the DD2424 edition" if s["dd2424"] else "not the DD2424 edition (its files differ)"
        lines = [f"{out}: {s['names']} names in {len(s['classes'])} languages, copied from the DD2424 layout: {what}"]
    else:
        lines = [f"{out}: {s['rows']} names in {len(s['classes'])} languages, "
                 f"{s['val_per_language']} a language to validate on, {s['unseen_per_language']} unseen"]
        lines += [f"  {lang:<14}{n:>7} names, {s['duplicates_removed'][lang]} duplicates removed"
                  for lang, n in s["names"].items()]
        shared = s["listed_under_several"]
        if shared:
            done = ("kept under each for training, never validated on" if s["conflicts"] == "keep"
                    else "dropped (--conflicts drop)")
            shown = ", ".join(f"{n} ({'/'.join(ls)})" for n, ls in list(shared.items())[:8])
            lines.append(f"  {len(shared)} names listed under several languages, {done}: {shown}"
                         + (" …" if len(shared) > 8 else "") + f" (all in {out}/import.json)")
    lines += ["track it with DVC, then rebuild:",
              f"  dvc add {out}",
              f"  git add {out}.dvc {out.parent}/.gitignore",
              f"  git commit -m 'data: names from {s.get('source', 'the DD2424 layout')}'",
              "  dvc push      # with a remote of your own: dvc remote add -d --local mystore /path/or/s3://bucket",
              "  dvc repro"]
    return lines
