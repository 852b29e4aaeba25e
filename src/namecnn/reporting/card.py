"""The model card (Mitchell et al. 2019's sections): what the model is, what it is for and not for, and how well it
does, for whom. Every figure comes from the evaluate stage's results passed in; the words around them are fixed.
The first paragraph is the card's head, which the registered version's description repeats."""
import numpy as np
from scipy import stats

from .report import layers, table

LENGTHS = ((1, 4), (5, 6), (7, 8), (9, 99))        # name lengths, in characters, the accuracy is broken down by


def exact(k, n, level=0.95):
    """Clopper-Pearson interval of k successes in n."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return ci.low, ci.high


def confusable(cm, classes, top=5):
    """The pairs of languages most often taken for each other on the validation names, both ways summed."""
    cm = np.asarray(cm)
    both = cm + cm.T
    pairs = sorted(((int(both[i, j]), classes[i], classes[j]) for i in range(len(classes))
                    for j in range(i + 1, len(classes))), key=lambda t: (-t[0], t[1], t[2]))
    return [f"{a} & {b} ({n} name{'s' * (n != 1)})" for n, a, b in pairs[:top] if n]


def by_length(predictions):
    rows = []
    for lo, hi in LENGTHS:
        hits = [p["actual"] == p["predicted"] for p in predictions if lo <= len(p["name"]) <= hi]
        if hits:
            rows.append([f"{lo}–{hi}" if hi < 99 else f"{lo}+", len(hits), f"{np.mean(hits):.2f}"])
    return rows


def spread(counts):
    lo, hi = min(counts), max(counts)
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def head(c):
    """The card's first paragraph: the model, its accuracy, its answers' honesty, the use it is not for."""
    cfg, v, n = c["model"]["train"], c["scores"]["val"], sum(c["counts"]["val"].values())
    sets = c["calibration"].get("sets")
    return (f"**namecnn version {c['version']}**: a character CNN ({layers(len(cfg['filters']))}, filters "
            f"{cfg['filters']}, widths {cfg['widths']}) that names which of {len(c['classes'])} languages a surname's "
            f"spelling most resembles, among the lists it was trained on. Validation accuracy {v['acc']:.3f} "
            f"(95 % interval {v['acc_ci_low']:.3f}–{v['acc_ci_high']:.3f}) on {n} names; probabilities calibrated "
            f"(T = {c['calibration']['temperature']:.2f})"
            + (f"; {sets['coverage_target']:.0%} prediction sets hold {sets['mean_size']:.1f} languages on average"
               if sets else "")
            + ". Not for inferring a person's ethnicity, nationality or religion, nor for any decision about a person.")


def render(c):
    """c: version, run_id, commit, data_md5, edition (rawdata.edition), model (model.json), classes, counts (encode
    meta), scores, per_class rows, calibration, confusion matrix, predictions (per validation name)."""
    cfg, v, ed = c["model"]["train"], c["scores"]["val"], c["edition"]
    train_counts = c["counts"]["train"]
    big, small = max(train_counts, key=train_counts.get), min(train_counts, key=train_counts.get)
    per = [[r["class"], r["support"], f"{float(r['recall']):.2f}",
            "{:.2f}–{:.2f}".format(*exact(round(float(r["recall"]) * int(r["support"])), int(r["support"]))),
            f"{float(r['precision']):.2f}", train_counts[r["class"]]] for r in c["per_class"]]
    ranked = sorted(c["per_class"], key=lambda r: float(r["recall"]))
    cal, sets = c["calibration"], c["calibration"].get("sets")
    ext = c["scores"].get("external", {}).get("test")
    source = ("the DD2424 edition of the PyTorch tutorial's surname lists" if ed["dd2424"] else
              f"names imported by `namecnn data import` from `{ed['record']['source']}`" if ed["record"] else
              "names that are not the DD2424 edition")
    parts = [
        "# Model card: namecnn", head(c),
        "## Model details",
        f"- NumPy character CNN: {layers(len(cfg['filters']))} (filters {cfg['filters']}, widths {cfg['widths']}, "
        f"bias {cfg['bias']}, max-pool {cfg['pool']}), dropout {cfg['dropout']} on the dense layer, softmax over "
        f"{len(c['classes'])} languages; {cfg['steps']} steps of SGD with momentum, {cfg['sampling']} sampling, "
        f"seed {cfg['seed']}; " + ("one network." if c["model"].get("members", 1) == 1 else
                                    f"an ensemble of {c['model']['members']} seeds, their probabilities averaged."),
        f"- Registered as version {c['version']} of `namecnn` from MLflow run `{c['run_id']}`; code at commit "
        f"`{c['commit']}`; data `data/raw` (DVC hash `{c['data_md5']}`, sha256 of the encoded files "
        f"`{ed['digest'][:16]}…`): {source}.",
        "## Intended use",
        "Teaching and experiment tracking: a small network whose every stage can be rerun, compared and tuned. Its "
        f"answer is the language, among these {len(c['classes'])} ({', '.join(c['classes'])}), whose training list "
        "a romanized surname's spelling most resembles, with calibrated probabilities and a set of languages when "
        "one is not enough.",
        "## Out-of-scope uses",
        "- Inferring a person's ethnicity, nationality, ancestry or religion: a surname is a poor proxy for any of "
        "them, and the labels are the list a name was filed under, not anyone's origin.\n"
        "- Any decision about an individual (hiring, lending, policing, medical care, moderation), or sorting "
        "people into groups.\n- Given names, and full names: it was trained on surnames only.\n"
        "- Scripts and languages outside these classes: every input is forced into one of them, and a name from "
        "elsewhere still gets a confident-looking answer.",
        "## Factors",
        "- **Confusable languages** (validation names, both directions): "
        + (", ".join(confusable(c["confusion"], c["classes"])) or "none confused") + ".",
        "- **Folding.** Every name is folded to lower-case ASCII before the network sees it (anyascii's "
        "transliteration: Müller → muller, Смирнов → smirnov): the network cannot tell spellings that differ only "
        "in diacritics or script apart.",
        "- **Name length** (validation accuracy by characters):\n\n"
        + table(["characters", "names", "accuracy"], by_length(c["predictions"])),
        f"## Metrics (validation: {sum(c['counts']['val'].values())} names)",
        f"Accuracy {v['acc']:.4f} (bootstrap 95 % interval {v['acc_ci_low']:.3f}–{v['acc_ci_high']:.3f}), balanced "
        f"accuracy {v['balanced_acc']:.4f}, top-3 {v['top3_acc']:.4f}, macro-F1 {v['macro_f1']:.4f}. Per language "
        "(recall with its exact 95 % interval; few names a language make these wide):\n\n"
        + table(["language", "validation names", "recall", "95 % interval", "precision", "training names"], per),
        "## Calibration",
        f"Temperature {cal['temperature']:.3f}, fitted on {cal['calibration_names']} held-out training names: NLL "
        f"{cal['uncalibrated']['nll']:.4f} → {cal['calibrated']['nll']:.4f}, ECE {cal['uncalibrated']['ece']:.3f} → "
        f"{cal['calibrated']['ece']:.3f} (a perfectly calibrated model would show about "
        f"{cal['calibrated']['ece_floor']:.3f} on this few names)"
        + (f"; {sets['coverage_target']:.0%} prediction sets covered {sets['coverage']:.3f} of the validation names "
           f"with {sets['mean_size']:.2f} languages on average." if sets else "."),
        "## Training data",
        f"{sum(train_counts.values()):,} training names (the validation names apart), from {train_counts[big]:,} "
        f"({big}) down to {train_counts[small]:,} ({small}) a language; {cal['calibration_names']:,} of them held out "
        f"of the final training to calibrate on. The data: {source}. "
        + ("The names were collected by hand from websites whose sources were not kept (the tutorial's author, "
           "spro/practical-pytorch#94); the course de-duplicated them, transliterated them to ASCII and fixed the "
           "validation split. The tutorial's code licences (BSD-3-Clause, MIT) are not a licence for the data, "
           "and none is stated." if ed["dd2424"] else "Their provenance is what the person who imported them "
           "records; `data/raw/import.json` holds the source files' hashes, duplicates and shared names."),
        "## Ethical considerations",
        f"Accuracy is uneven across languages: from {float(ranked[0]['recall']):.2f} ({ranked[0]['class']}) to "
        f"{float(ranked[-1]['recall']):.2f} ({ranked[-1]['class']}) on the validation names. Tools that infer "
        "origin from names are used to guess ethnicity and nationality, and published audits of such tools "
        "(ethnicolr, NamePrism, name2nat) find uneven error rates across groups; this model must not be used that "
        "way. The lists mix languages, regions and diasporas under one label, and the largest lists dominate "
        "what the network learns.",
        "## Caveats",
        "- The validation names come from the same lists as the training names; names from other sources may "
        "score lower." + (f" On independent surname lists (external test, {ext['n']} names, {ext['languages']} "
                          f"languages) the balanced accuracy is {ext['balanced_acc']:.3f}." if ext else "")
        + f"\n- {spread(c['counts']['val'].values())} validation names a language: a per-language figure moves by "
          "whole names.",
    ]
    return "\n\n".join(parts) + "\n"
