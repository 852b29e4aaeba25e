"""The report's study section: each of the original study's tables, its numbers beside ours.

`pub` is reference/published.yaml; `runs` maps a study configuration's name to its stage output
(mean, std, per-seed runs, seed ensemble). Ours are means ± standard deviations over the seeds.
"""
from .report import layers, table


def ms(r, key):
    return f"{r['mean'][key]:.4f} ± {r['std'][key]:.4f}"


def diff(ours, theirs):
    return f"{ours - theirs:+.4f}"


def header(runs, seeds):
    return (f"Each configuration below was trained with seeds {seeds}, "
            f"{runs['t3_balanced']['steps']} steps each unless the row says otherwise; values are "
            "mean ± standard deviation over the seeds. **Not the same experiment as the study:** it used the "
            "course's older data edition (20,050 names with duplicates, 252 validation names, 14 per class); "
            "ours has 17,421 de-duplicated names and 216 validation names (12 per class), so a validation "
            "accuracy has a standard error of about 3 points (√(0.5·0.5/216) ≈ 0.034). Compare the shapes — which "
            "setting wins, and by how much — as well as the values.")


def gradcheck_table(pub, gc):
    rows = []
    study = gc["configs"]["study"]["params"]
    for key in ("W", "F1", "F2"):
        rows.append([key, f"{pub['gradcheck'][key]:.4e}", f"{study[key]['mean_diff']:.4e}",
                     f"{study[key]['mean_abs_diff']:.2e}", f"{study[key]['max_rel_error']:.2e}"])
    return table(["parameter", "study: mean difference", "ours: mean difference", "ours: mean absolute difference",
                  "ours: max relative error"], rows)


def speed_table(pub, bench):
    theirs = pub["speed"]["slow"] / pub["speed"]["efficient"]
    b = bench["networks"]["study"]
    return table(["", "study (s/it)", "ours (ms/step)"],
                 [["slow / reference", pub["speed"]["slow"], f"{b['reference']['mean_ms']:.1f}"],
                  ["efficient / fast", pub["speed"]["efficient"], f"{b['fast']['mean_ms']:.3f}"],
                  ["speed-up", f"{theirs:.0f}×", f"{b['speedup']:.0f}× ({b['speedup'] / theirs:.0f}× the "
                                                  "study's ratio)"]])


def sampling_table(pub, runs):
    rows = []
    for split in ("train", "val"):
        for kind, name in (("unbalanced", "t3_unbalanced"), ("balanced", "t3_balanced")):
            theirs, ours = pub["sampling"][kind][split], runs[name]["mean"][f"{split}_acc"]
            rows.append([split, kind, theirs, ms(runs[name], f"{split}_acc"), diff(ours, theirs)])
    return table(["accuracy", "sampling", "study", "ours", "ours − study"], rows)


def search_best_table(pub, runs):
    r = runs["t4_search_best"]
    return table(["accuracy", "study", "ours", "ours − study"],
                 [[s, pub["search_best"][s], ms(r, f"{s}_acc"), diff(r["mean"][f"{s}_acc"], pub["search_best"][s])]
                  for s in ("train", "val")])


def unseen_table(pub, runs, evaluated):
    combined = runs["t8_cyclic"]["ensemble"]
    ours = {r["name"]: r for r in evaluated}
    rows = []
    for i, (name, (pred, prob)) in enumerate(pub["unseen"]["combined"].items()):
        o = ours[name]
        rows.append([name, o["actual"], f"{pred} ({prob:.2f})",
                     f"{combined['unseen_predicted'][i]} ({combined['unseen_probability'][i]:.2f})",
                     f"{o['predicted']} ({float(o['probability']):.2f})"])
    acc_default = sum(r["predicted"] == r["actual"] for r in evaluated) / len(evaluated)
    rows.append(["**accuracy**", "", f"{pub['unseen']['combined_acc']:.4f}", f"{combined['unseen_acc']:.4f}",
                 f"{acc_default:.4f}"])
    return table(["name", "label", "study's combined best", "ours: same configuration (seed ensemble)",
                  "ours: default model"], rows)


def bias_table(pub, runs):
    pairs = (("unbalanced", "t3_unbalanced", "t6_unbalanced_bias"), ("balanced", "t3_balanced", "t6_balanced_bias"),
             ("search_best", "t4_search_best", "t6_search_best_bias"))
    rows = []
    for kind, without, with_ in pairs:
        for split in ("train", "val"):
            t0, t1 = pub["bias"][kind][split]
            o0, o1 = runs[without]["mean"][f"{split}_acc"], runs[with_]["mean"][f"{split}_acc"]
            rows.append([kind, split, f"{t0:.4f} → {t1:.4f} ({t1 - t0:+.4f})",
                         f"{ms(runs[without], f'{split}_acc')} → {ms(runs[with_], f'{split}_acc')} ({o1 - o0:+.4f})"])
    return table(["model", "accuracy", "study: without → with bias", "ours: without → with bias"], rows)


def depth_table(pub, runs):
    rows = []
    for depth, p in pub["depth"].items():
        r = runs[f"t7_depth{depth}"]
        rows.append([depth, p["filters"], p["widths"], p["train"], ms(r, "train_acc"), p["val"], ms(r, "val_acc"),
                     diff(r["mean"]["val_acc"], p["val"]), p["unseen"], f"{r['mean']['unseen_acc']:.2f}"])
    return table(["layers", "filters", "widths", "study train", "ours train", "study val", "ours val",
                  "val: ours − study", "study unseen", "ours unseen"], rows)


def variants_table(runs):
    names = (("constant eta 0.01", "t6_search_best_bias"), ("cyclic 0.001–0.1, step 500", "t8_cyclic"),
             ("cyclic + dropout 0.1", "t8_dropout01"), ("cyclic + dropout 0.2", "t8_dropout02"),
             ("cyclic, no shuffling", "t8_noshuffle"))
    return table(["[50, 50], [7, 3], biases", "study", "ours train", "ours val", "ours unseen"],
                 [[label, "— (no numbers published)", ms(runs[n], "train_acc"), ms(runs[n], "val_acc"),
                   f"{runs[n]['mean']['unseen_acc']:.2f}"] for label, n in names])


def combined_table(pub, runs):
    r = runs["t8_cyclic"]
    return table(["accuracy", "study", "ours", "ours − study"],
                 [[s, pub["combined_best"][s], ms(r, f"{s}_acc"),
                   diff(r["mean"][f"{s}_acc"], pub["combined_best"][s])] for s in ("train", "val", "unseen")])


def beat_table(pub, runs, baseline):
    d = runs["default_model"]
    c = d["config"]
    rows = [["study's combined best (published)", "—", f"{pub['combined_best']['val']:.4f}",
             f"{pub['combined_best']['unseen']:.4f}"],
            ["study's combined best (ours)", f"{runs['t8_cyclic']['steps']}", ms(runs["t8_cyclic"], "val_acc"),
             f"{runs['t8_cyclic']['mean']['unseen_acc']:.4f}"],
            ["n-gram TF-IDF + logistic regression", "—", f"{baseline['val_acc']:.4f}",
             f"{baseline['unseen_acc']:.4f}"],
            [f"default model: {layers(c['layers'])}, filters {c['filters']}, widths {c['widths']}, "
             f"pool {c['pool']}, dropout {c['dropout']}, weight decay {c['weight_decay']}, {c['sampling']} sampling, "
             f"logit adjustment {c['logit_adjust']}", f"{d['steps']}",
             ms(d, "val_acc"), f"{d['mean']['unseen_acc']:.4f}"],
            [f"default model, an ensemble of its {len(d['seeds'])} seeds (probabilities averaged; "
             "`train.ensemble`)", f"{d['steps']}", f"{d['ensemble']['val_acc']:.4f}",
             f"{d['ensemble']['unseen_acc']:.4f}"]]
    return table(["model", "steps", "validation accuracy", "unseen accuracy"], rows)


def timing(runs, summary):
    each = ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in runs.items())
    return (f"The study stage trained {summary['trainings']} networks ({summary['configs']} configurations × seeds "
            f"{summary['seeds']}) in {summary['wall_seconds'] / 60:.1f} min on {summary['jobs']} processes, "
            f"{summary['training_seconds'] / 60:.1f} min of training in all (per configuration, all seeds: {each}).")
