"""An external test: surnames from independent lists (Faker's per-locale lists, compiled from public sources),
none of them in the DD2424 files, folded as predict folds them. Each language's names are split, seeded, into
`dev` (may be used to choose a recipe, like the inner split) and `test` (reported only, never used to choose).

A language needs at least `min_names` usable names; a name is usable when, folded, it is not a training or
validation name and every character is in the model's alphabet.
"""
import importlib
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np

from .. import fsio
from ..data import fold
from ..errors import NameCNNError

SOURCES = {                       # language -> (Faker locale, provider attribute) lists, as the issue measured them
    "Chinese": [("zh_CN", "last_romanized_names"), ("zh_TW", "last_romanized_names")],
    "Czech": [("cs_CZ", "last_names")], "Dutch": [("nl_NL", "last_names")], "French": [("fr_FR", "last_names")],
    "German": [("de_DE", "last_names")], "Greek": [("el_GR", "last_names")], "Italian": [("it_IT", "last_names")],
    "Polish": [("pl_PL", "male_last_names"), ("pl_PL", "unisex_last_names")],
    "Portuguese": [("pt_PT", "last_names"), ("pt_BR", "last_names")], "Russian": [("ru_RU", "last_names")],
    "Spanish": [("es_ES", "last_names")],
}
SPLITS = ("dev", "test")


def faker_names(locale, attribute):
    """A Faker person provider's list (a tuple, or a mapping of name to weight) as a list of str."""
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ImportError:
        raise NameCNNError("faker is not installed: pip install -e '.[external]' (make setup does)") from None
    return [str(n) for n in getattr(provider, attribute)]


def build(known, alphabet, classes, p):
    """{language: {"dev": [...], "test": [...]}} and a summary of what was kept and dropped, per language."""
    rng = np.random.default_rng(p["seed"])
    known = {str(n).lower() for n in known}
    out, summary = {}, {"faker": version("faker"), "languages": {}}
    for language, sources in SOURCES.items():
        if language not in classes:
            continue
        raw = [n for locale, attr in sources for n in faker_names(locale, attr)]
        folded = sorted({fold(n) for n in raw} - {""})
        outside = [n for n in folded if set(n) - alphabet]
        fresh = [n for n in folded if n not in known and not set(n) - alphabet]
        kept = [fresh[i] for i in rng.permutation(len(fresh))[:p["per_language"]]]
        info = {"sources": [f"{loc}.{attr}" for loc, attr in sources], "listed": len(raw), "distinct": len(folded),
                "in_dd2424": len([n for n in folded if n in known]), "outside_alphabet": len(outside),
                "kept": len(kept)}
        summary["languages"][language] = info
        if len(kept) < p["min_names"]:
            info["dropped"] = f"fewer than external.min_names = {p['min_names']} usable names"
            continue
        cut = int(round(len(kept) * p["dev_fraction"]))
        out[language] = {"dev": sorted(kept[:cut]), "test": sorted(kept[cut:])}
    return out, summary


def write(folder, split_names, summary):
    """<folder>/{dev,test}/<Language>.txt, one name a line, and summary.json; the folder appears whole."""
    with fsio.atomic_dir(folder) as tmp:
        for split in SPLITS:
            (tmp / split).mkdir()
            for language, names in split_names.items():
                (tmp / split / f"{language}.txt").write_text("".join(f"{n}\n" for n in names[split]))
        fsio.write_json(tmp / "summary.json", summary)


def read(folder, split, classes):
    """(names, labels) of one split of an external folder, labels as indices of `classes`."""
    names, y = [], []
    for path in sorted(Path(folder, split).glob("*.txt")):
        if path.stem not in classes:
            raise NameCNNError(f"{path}: {path.stem} is not one of the model's classes")
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        names += lines
        y += [classes.index(path.stem)] * len(lines)
    return names, np.array(y, dtype=np.int64)


def score(pred, base_pred, y, classes, rng, n_boot=2000, level=0.95):
    """The model against the n-gram baseline on one external split: accuracy and balanced accuracy of each, per
    language, and the paired comparison on the same names (difference, interval, McNemar p; A the model)."""
    from sklearn.metrics import balanced_accuracy_score

    from . import compare

    pred, base_pred = np.asarray(pred), np.asarray(base_pred)
    right, base_right = pred == y, base_pred == y
    present = sorted(set(y.tolist()))
    with warnings.catch_warnings():       # predicting a language the lists lack is an error like any other
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced, base_balanced = (float(balanced_accuracy_score(y, p)) for p in (pred, base_pred))
    return {"n": int(len(y)), "languages": len(present), "acc": float(right.mean()), "balanced_acc": balanced,
            "baseline_acc": float(base_right.mean()), "baseline_balanced_acc": base_balanced,
            "per_language": {classes[k]: {"n": int(np.sum(y == k)), "acc": float(right[y == k].mean()),
                                          "baseline_acc": float(base_right[y == k].mean())} for k in present},
            "vs_baseline": compare.paired(right, base_right, rng, n_boot, level)}


def mlflow_metrics(scored):
    """{split: score(...)} as MLflow metrics: external_test/balanced_acc, external_test/vs_baseline, …"""
    out = {}
    for split, e in scored.items():
        out.update({f"external_{split}/{k}": e[k] for k in ("acc", "balanced_acc", "baseline_balanced_acc")})
        out.update({f"external_{split}/vs_baseline": e["vs_baseline"]["diff"],
                    f"external_{split}/vs_baseline_p_mcnemar": e["vs_baseline"]["p_mcnemar"]})
    return out
