"""namecnn exps: the experiments side by side in a terminal's width: `dvc exp show`, read as CSV, with the
headline metrics (validation accuracy, against the champion, the external test's balanced accuracy `ext`), the
champion every row is compared with, and the params that differ (section names dropped:
`train.dropout` shows as `dropout`)."""
import csv
import io
import subprocess

HELP = "the experiments' headline metrics and the params that differ, in 120 columns (dvc exp show, compacted)"
METRICS = {"acc": "{:.3f}", "vs_champ": "{:+.3f}", "p_champ": "{:.2g}", "champ_version": "v{:.0f}", "ext": "{:.3f}",
           "ms_step": "{:.2f}"}


def add(e):
    e.add_argument("--all", action="store_true", help="every experiment, not only the latest commit's")
    return e


def cell(value, fmt):
    try:
        return fmt.format(float(value))
    except ValueError:
        return value or "-"


def table(rows):
    """CSV rows of `dvc exp show --csv` -> the lines to print: every headline metric, the params that differ."""
    params = [k for k in rows[0] if "." in k and "/" not in k and not k.endswith(".py")
              and len({r[k] for r in rows if r.get(k) not in ("", "!")}) > 1]
    header = ["experiment", "acc [95% CI]", "vs_champ", "p", "champ", "ext", "ms_step"] + [k.split(".", 1)[1]
                                                                                         for k in params]
    out = []
    for r in rows:
        name = r.get("Experiment") or r.get("rev", "")
        acc = cell(r.get("acc", ""), METRICS["acc"])
        if r.get("acc_lo") and r.get("acc_hi") and acc != "-" and r["acc_lo"] != "!":
            acc += f" [{float(r['acc_lo']):.2f},{float(r['acc_hi']):.2f}]"
        out.append([name.strip(), acc] + [cell(r.get(k, ""), METRICS[k]) for k in
                                         ("vs_champ", "p_champ", "champ_version", "ext", "ms_step")] +
                   [r.get(k, "") or "-" for k in params])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *out, strict=True)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
            for line in [header, *out]]


def run(args):
    from ..errors import NameCNNError

    cmd = ["dvc", "exp", "show", "--csv"] + (["--all-commits"] if args.all else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise NameCNNError(f"dvc exp show: {(r.stderr.strip().splitlines() or ['failed'])[-1]}")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    if not rows:
        raise NameCNNError("dvc exp show: no experiments")
    print("\n".join(table(rows)))
