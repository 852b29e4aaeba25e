"""The report's section on honest answers: probabilities before and after calibration, prediction sets and
selective prediction on the validation names (reports/evaluate/calibration.json, written by the evaluate stage)."""
from ..scoring.external import SOURCES
from .report import table


def interval(s, key):
    return f"{s[key]:.4f} ({s[f'{key}_ci_low']:.3f}–{s[f'{key}_ci_high']:.3f})"


def calibration_section(h, n_val, level=0.95):
    """Before/after table, the reliability diagram, the sets' coverage and sizes, and the selective curve."""
    if not h["calibration_names"]:
        return ("This model held out no calibration names (`train.calibration: 0`): its probabilities are the "
                "network's own and it gives no prediction sets.")
    rows = [[kind, f"{h[kind]['nll']:.4f}", interval(h[kind], "ece"), f"{h[kind]['brier']:.4f}",
             f"{h[kind]['mean_confidence']:.4f}", f"{h[kind]['accuracy']:.4f}"]
            for kind in ("uncalibrated", "calibrated")]
    text = (f"The temperature T = {h['temperature']:.3f} was fitted (lowest negative log-likelihood) on the "
            f"{h['calibration_names']} training names held out of the final training (`train.calibration`); no "
            f"validation name reaches it. On the {n_val} validation names, before and after (ECE: top-label, 10 "
            f"equal-width bins, with a {level:.0%} bootstrap interval):\n\n"
            + table(["probabilities", "NLL", "ECE (interval)", "Brier", "mean top probability", "accuracy"], rows)
            + f"\n\nThe ECE is noisy on this few names: a perfectly calibrated model (labels drawn from its own "
            f"probabilities) would show a median ECE of {h['calibrated']['ece_floor']:.3f} here; the NLL is the "
            "proper score the temperature minimises.\n\n![reliability diagram](evaluate/reliability.png)")
    s = h.get("sets")
    if s:
        per = sorted(((c, v) for c, v in s["per_class"].items() if v["n"]), key=lambda cv: -cv[1]["mean_size"])
        sizes = ", ".join(f"{c} {v['mean_size']:.2f}" for c, v in per)
        pairs = ", ".join(f"{p['a']} & {p['b']} ({p['names']} names)" for p in s["pairs"])
        text += (f"\n\n**Prediction sets** (split conformal, `{s['method']}` scores, calibrated on the same held-out "
                 f"names) at coverage {s['coverage_target']:g}: on the validation names the set held the true "
                 f"language for {s['coverage']:.3f} of them (exact {level:.0%} interval {s['coverage_ci_low']:.3f}–"
                 f"{s['coverage_ci_high']:.3f}); mean set size {s['mean_size']:.2f}, one language alone for "
                 f"{s['singletons']:.0%} of the names. Mean set size by true language: {sizes}. Most often in one "
                 f"set together: {pairs}. The coverage is a guarantee on average over names like the training "
                 "names, not for each name, and none for a name from a language outside the classes.")
    sel = h["calibrated"]["selective_acc"]
    text += ("\n\n**Selective prediction**: setting aside the least confident names, the accuracy on the rest is "
             + ", ".join(f"{float(c):.0%} answered: {a:.4f}" for c, a in sel.items())
             + ".\n\n![selective prediction](evaluate/selective.png)")
    return text


def external_section(scores, summary):
    """The model and the n-gram baseline on names from independent lists, per language and balanced."""
    ext = scores.get("external") or {}
    if not ext:
        return ("No external names: the external stage kept no language (its lists are for "
                f"{', '.join(SOURCES)}; {len(summary['languages'])} of them are classes here).")
    langs = sorted({lang for e in ext.values() for lang in e["per_language"]})
    rows = [[lang, summary["languages"][lang]["sources"][0].split(".")[0] + ("…" if len(
        summary["languages"][lang]["sources"]) > 1 else "")]
            + [f"{e['per_language'][lang]['acc']:.2f} / {e['per_language'][lang]['baseline_acc']:.2f}"
               if lang in e["per_language"] else "—" for e in ext.values()] for lang in langs]
    text = (f"Surnames from Faker {summary['faker']}'s per-locale lists, none of them a training or validation name, "
            "folded as `namecnn predict` folds them, split per language into external **dev** (may be used to choose "
            "a recipe) and external **test** (only reported). Accuracy of the model / of the n-gram baseline:\n\n"
            + table(["language", "Faker locale", *[f"{split} ({e['n']} names)" for split, e in ext.items()]], rows))
    for split, e in ext.items():
        c = e["vs_baseline"]
        text += (f"\n\n**External {split}**: balanced accuracy {e['balanced_acc']:.4f} against the baseline's "
                 f"{e['baseline_balanced_acc']:.4f}; accuracy {100 * c['diff']:+.1f} points ({100 * c['low']:+.1f} to "
                 f"{100 * c['high']:+.1f}), McNemar p = {c['p_mcnemar']:.3g} ({c['only_a']} names only the model "
                 f"gets right, {c['only_b']} only the baseline).")
    return text
