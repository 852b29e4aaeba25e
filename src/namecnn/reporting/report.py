"""Markdown building blocks for the report: every number comes from a stage output passed in."""
from ..scoring.compare import verdict


def layers(n):
    """1 conv layer, 3 conv layers."""
    return f"{n} conv layer" if n == 1 else f"{n} conv layers"


def table(header, rows):
    """A Markdown table from a header and rows of cells (already formatted)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def gradcheck_section(gc):
    rows = []
    for name, cfg in gc["configs"].items():
        for key, r in cfg["params"].items():
            rows.append([name, key, f"{r['max_rel_error']:.2e}", f"{r['mean_abs_diff']:.2e}", r["entries"], r["kinks"]])
    desc = "; ".join(f"`{n}`: filters {c['filters']}, widths {c['widths']}, bias {c['bias']}, dropout {c['dropout']}"
                     for n, c in gc["configs"].items())
    return (f"Centred differences (h = {gc['h']:g}, evaluated in {gc['numeric_dtype']}) against the float64 analytic "
            f"gradients on a batch of {gc['batch']} names; tolerance {gc['tolerance']:g} on the max relative error. "
            f"Configurations: {desc}. Entries whose ±h step crosses a ReLU kink are counted, not compared.\n\n"
            + table(["configuration", "parameter", "max relative error", "mean abs difference", "entries", "kinks"],
                    rows))


def speed_section(bench):
    rows = []
    for role, e in bench["networks"].items():
        f = e["fast"]
        rows.append([f"{role}: `{e['name']}` ({layers(len(e['filters']))}, filters {e['filters']}, widths "
                     f"{e['widths']}, pool {e['pool']}, dropout {e['dropout']})", f"{f['mean_ms']:.3f}",
                     f"{min(f['run_means_ms']):.3f}–{max(f['run_means_ms']):.3f}", f"{f['median_ms']:.3f}",
                     f"{f['mflop_per_step']:.1f}", f"{f['gflops']:.1f}"])
        if "reference" in e:
            r = e["reference"]
            rows.append([f"{role}: reference (the study's MF/MX method)", f"{r['mean_ms']:.1f}", "", "", "", ""])
    study = bench["networks"]["study"]
    return (f"Training steps timed as the training loop pays them (drawing and gathering the batch, the dropout "
            f"mask, loss, gradients, momentum update), float32, one BLAS thread; the mean over each run's steps, "
            f"the median of {study['fast']['repeats']} runs and their range. The machine's single-thread matrix "
            f"multiply runs at {bench['roofline_gflops']:.0f} GFLOP/s (the roofline).\n\n"
            + table(["network", "mean ms per step", "run means", "median step", "MFLOP a step", "GFLOP/s"], rows)
            + f"\n\nFast vs reference on the study's network: {study['speedup']:.0f}× faster.")


def other_data_line(data):
    """Why the study's tables are left out: the names are not the DD2424 edition (told by the digest)."""
    rec = data["record"] or {}
    where = (f"imported by `namecnn data import` from `{rec['source']}` ({len(rec['names'])} languages)"
             if rec else "not imported by `namecnn data import`")
    return (f"The names in `data/raw` are not the DD2424 edition (sha256 of its three encoded files "
            f"`{data['digest'][:16]}…`; {where}). The study's tables were measured on other names, so no comparison "
            "with them is made here; the study stage's own figures on these names are in `reports/study/`.")


def metrics_section(m, n_val):
    rows = []
    for split in ("train", "val"):
        r = m[split]
        rows.append([split, f"{r['acc']:.4f}", f"{r['loss']:.4f}", f"{r['balanced_acc']:.4f}", f"{r['top3_acc']:.4f}",
                     f"{r['macro_f1']:.4f}"])
    v = m["val"]
    return (table(["split", "accuracy", "loss", "balanced accuracy", "top-3 accuracy", "macro-F1"], rows)
            + f"\n\nValidation accuracy {v['acc']:.4f}, bootstrap 95 % interval {v['acc_ci_low']:.3f}–"
              f"{v['acc_ci_high']:.3f} ({n_val} names: a standard error of about {100 * (0.25 / n_val) ** 0.5:.0f} "
              f"points). {champion_line(m)} "
              f"{unseen_line(m['unseen'])}")


def champion_line(m):
    """Whether this model beats the registry's previous champion on the same names, with the interval."""
    c = m.get("champion")
    if not c:
        return "This model is the registered model's first version, or the champion itself: nothing to compare with."
    if "reason" in c:
        return f"Not compared with the champion (version {c['version']}): {c['reason']}."
    line = verdict(c, "this model", f"the champion (version {c['version']}, validation accuracy "
                                    f"{c['champion_val_acc']:.4f})")
    return line[0].upper() + line[1:] + "."


def served_line(c):
    """Which registered version `models:/namecnn@champion` serves, and what this run's model is."""
    if c["role"] == "champion":
        return f"This model, version {c['version']} of `namecnn`, is `models:/namecnn@champion`: {c['why']}."
    return (f"This model, version {c['version']} of `namecnn`, is the challenger ({c['why']}); "
            f"`models:/namecnn@champion` stays version {c['champion']}.")


def unseen_line(u):
    """The unseen-names figure: the names the training data does not hold; the conflicting ones apart."""
    return (f"Unseen names: {u['new_acc']:.4f} of the {u['n_new']} that the training data does not hold "
            f"({u['non_conflicting_acc']:.4f} of the {u['n_non_conflicting']} whose label it does not contradict, "
            f"{u['acc']:.4f} of all {u['n']}); listed apart, the {u['trained_with_other_label']} it holds under "
            f"another label: {', '.join(u['conflicting']) or 'none'}. Too few names to steer by.")


def per_class_section(rows):
    return table(["class", "names", "precision", "recall (accuracy)", "F1"],
                 [[r["class"], r["support"], f"{float(r['precision']):.2f}", f"{float(r['recall']):.2f}",
                   f"{float(r['f1']):.2f}"] for r in rows])


def unseen_section(rows):
    """The unseen names' table, and which of them the training data holds under another label."""
    other = [f"{r['name']} ({r['training_label']})" for r in rows if r["training_label"] not in ("", r["actual"])]
    note = (f"{len(other)} of these {len(rows)} names are training names with another label: {', '.join(other)}; "
            f"a model that reproduces its training labels gets at most {len(rows) - len(other)} of {len(rows)} "
            f"({(len(rows) - len(other)) / len(rows):.2f}) right." if other else "")
    return table(["name", "actual", "predicted", "probability", "label in the training data"],
                 [[r["name"], r["actual"], r["predicted"] + (" ✓" if r["predicted"] == r["actual"] else ""),
                   f"{float(r['probability']):.3f}", r["training_label"] or "—"] for r in rows]) + (
        f"\n\n{note}" if note else "")


def members_line(meta):
    """How many networks the model averages and what they trained on."""
    cfg, k = meta["train"], meta.get("members", 1)
    held = meta.get("calibration", {}).get("names", 0)
    what = f"an ensemble of {k} seeds, their probabilities averaged" if k > 1 else "one network"
    if not held:
        return what + ", trained on every training name"
    return f"{what}, trained on the training names less {held} held out to calibrate on (train.calibration = " \
           f"{cfg.get('calibration', 0):g})"


def ms(stat, digits=4):
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def depth_section(summary, confirmed):
    """Does depth pay? The search's trials per depth, and the deep candidates' confirmation against the default."""
    bd = summary.get("by_depth")
    if not bd or len(bd["depths"]) < 2:
        return "The search's space fixes the depth: it does not answer whether depth pays."
    def num(v, fmt=".4f"):
        return "—" if v is None else format(v, fmt)

    rows = [[d["layers"], f"{d['trials']} ({d['complete']} complete)", num(d["steps_share"], ".3f"),
             num(d["median_mflop_per_step"], ".1f"), num(d["best_first_rung"]),
             f"{num(d['furthest_value'])} at {d['furthest_steps']}" if d["furthest_steps"] else "—",
             num(d["best_value"]),
             f"trial {d['best_trial']}: `{d['best_params']}`" if d["best_params"] else "—",
             ", ".join(d["confirmed"]) or "—"] for d in bd["depths"]]
    default = confirmed["candidates"][0]
    deep = [c for c in confirmed["candidates"] if c["config"]["layers"] > 1]
    if deep:
        b = max(deep, key=lambda c: c["inner_balanced_acc"]["mean"])
        lead = b["inner_balanced_acc"]["mean"] - default["inner_balanced_acc"]["mean"]
        verdict = (f"The best deep candidate, {b['name']} ({b['config']['layers']} layers), scores "
                   f"{ms(b['inner_balanced_acc'])} on the inner names against the default's "
                   f"{ms(default['inner_balanced_acc'])} (a lead of {lead:+.4f}; validation, reported only: "
                   f"{ms(b['val_acc'])} against {ms(default['val_acc'])}).")
    else:
        verdict = ("No deep configuration reached the confirmation: at every rung the best one-layer trials "
                   "scored higher on the inner names.")
    turn = ("Each depth takes its turn (`search.stratify`), so each gets about the same number of trials whatever "
            "the first few scores; " if bd["stratified"] else "The sampler chooses the depth; ")
    return (f"{turn}a trial costing more than `search.max_mflop_per_step` ({bd['max_mflop_per_step']:g}) is pruned "
            f"before it trains. The first rung ({bd['first_rung']} steps) is the one score every trained trial has.\n\n"
            + table(["layers", "trials", "share of steps", "median MFLOP a step", "best inner at the first rung",
                     "best at the furthest step reached", f"best inner at {bd['max_steps']} steps", "its parameters",
                     "confirmed"], rows)
            + f"\n\n{verdict}")


def search_section(summary, trials, confirmed):
    """The search: its budget, its best trials on the inner names, and the confirmation with the inner and the
    validation score side by side; whether it beat the default, and the command that adopts the winner."""
    done = sorted((t for t in trials if t["state"] == "COMPLETE"), key=lambda t: -float(t["value"]))[:5]
    text = (f"Optuna study `{summary['study_name']}` ({summary['sampler']} sampler, {summary['pruner']} pruner): "
            f"{summary['trials']} trials, {summary['complete']} complete (trained the full "
            f"{confirmed['steps']} steps), {summary['pruned']} pruned, {summary['fail']} failed, in "
            f"{summary['search_minutes']:.2f} min; the confirmation took {summary['confirm_minutes']:.2f} min "
            f"on {confirmed['jobs']} processes. Of the {summary['steps_trained']} training steps, a share of "
            f"{summary['full_length_share']} went to the {summary['full_length_trials']} full-length trials; the "
            f"cheapest fidelity (stopped at the first rung) ran {summary['first_rung_trials_per_minute']} trials "
            "a minute. Trials train on the training names less a stratified inner split and are scored by "
            "balanced accuracy on that split; no trial and no choice sees a validation name. Each trial and "
            "each confirmation run is a nested MLflow run under the search's parent run in experiment "
            "`namecnn-search`.\n\n"
            + table(["trial", "inner balanced accuracy", "parameters"],
                    [[t["number"], f"{float(t['value']):.4f}", f"`{t['params']}`"] for t in done]))
    rows = [[c["name"] + (" (default)" if c["name"] == confirmed["default"] else ""), ms(c["inner_balanced_acc"]),
             ms(c["val_acc"]), ms(c["val_balanced_acc"]), f"`{c['config']['filters']}` k`{c['config']['widths']}`"]
            for c in confirmed["candidates"]]
    w = confirmed["winner"]
    mine = confirmed["candidates"][0]["inner_balanced_acc"]["mean"]
    lead = (f"{w['lead']:.4f}, {w['lead'] / w['lead_se']:.1f} standard errors of the difference (from the seeds' "
            f"spread; `search.confirm.min_lead` asks for more than {w['min_lead']:g})" if w["lead_se"] > 0 else
            f"{w['lead']:.4f} (one seed: no spread to weigh it against)")
    if confirmed["beats_default"]:
        verdict = (f"The search beat the hand-found default: {w['name']} scores {w['inner_mean']:.4f} on the inner "
                   f"names against the default's {mine:.4f}, a lead of {lead}. Adopt it with\n\n```bash\n"
                   f"{w['command']}\n```")
    elif w["command"]:
        verdict = (f"The search did not beat the hand-found default on the inner names by more than the seeds' "
                   f"noise: {w['name']} leads it by {lead}. The default stays; to try the challenger anyway:"
                   f"\n\n```bash\n{w['command']}\n```")
    else:
        verdict = "The search did not beat the hand-found default on the inner names: the default stays."
    text += (f"\n\n**Confirmation** ({len(confirmed['seeds'])} seeds each, {confirmed['steps']} steps). Each "
             "candidate and seed trains twice: on the inner training names, scored on the held-out inner names "
             "(the winner is chosen by this score), and on all training names as the train stage does, scored on "
             "the validation names (only reported).\n\n"
             + table(["candidate", "inner balanced acc", "validation acc", "validation balanced acc", "network"], rows)
             + f"\n\nWinner: **{w['name']}**, inner {w['inner_mean']:.4f} ± {w['inner_sd']:.4f}, validation "
             f"{w['val_mean']:.4f} ± {w['val_sd']:.4f}. {verdict}"
             f"\n\n**Does depth pay?** {depth_section(summary, confirmed)}")
    return text + "\n\n![optimisation history](search/history.png)\n\n![importances](search/importances.png)" \
                  "\n\n![parallel coordinates](search/parallel.png)"
