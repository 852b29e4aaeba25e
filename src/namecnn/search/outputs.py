"""What a search leaves behind: trials.csv, best_params.json (the budget, the best trial, the confirmation's
winner and the command that adopts it), confirm.json and Optuna's plots."""
import json
import warnings
from pathlib import Path

import numpy as np
import optuna
from optuna.visualization import matplotlib as vis

from .. import fsio
from ..reporting import plots
from . import space


def trial_rows(study):
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        rows.append({"number": t.number, "state": t.state.name, "value": t.value, "steps": t.user_attrs.get("steps"),
                     "duration_s": None if duration is None else round(duration, 2),
                     "params": json.dumps(t.params, sort_keys=True), "reason": t.user_attrs.get("reason", "")})
    return rows


def figures(study):
    """Optuna's matplotlib plots; a plot that needs more completed trials than there are is a note instead."""
    out = {}
    for name, fn in (("history", vis.plot_optimization_history), ("importances", vis.plot_param_importances),
                     ("parallel", vis.plot_parallel_coordinate)):
        try:
            with warnings.catch_warnings():           # "experimental", and matplotlib's flat axes: not ours to fix
                warnings.simplefilter("ignore")
                ax = fn(study)
            fig = (ax[0] if hasattr(ax, "__len__") else ax).get_figure()
            fig.set_size_inches(9, 5)
            fig.tight_layout()
        except (ValueError, RuntimeError, ZeroDivisionError) as e:
            fig, ax = plots.plt.subplots(figsize=(6, 2))
            ax.axis("off")
            ax.text(0.5, 0.5, f"{name}: not enough completed trials\n({str(e).splitlines()[0][:80]})",
                    ha="center", va="center")
        out[name] = fig
    return out


def study_minutes(study):
    """Wall-clock minutes from the first trial's start to the last one's end (resumed runs included)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete]
    if not done:
        return 0.0
    return (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds() / 60


def budget(rows, max_steps, min_steps, workers):
    """Where the training steps went: the share spent by trials that ran the full step count, and how many
    trials a minute the cheapest fidelity (stopped at the first rung) gets through on all workers."""
    steps = [r["steps"] or 0 for r in rows]
    total = sum(steps)
    full = sum(s for s in steps if s >= max_steps)
    first = [r["duration_s"] for r in rows if r["state"] == "PRUNED" and r["steps"] and r["steps"] <= min_steps
             and r["duration_s"]]
    return {"steps_trained": total, "full_length_trials": sum(s >= max_steps for s in steps),
            "full_length_share": round(full / total, 3) if total else None,
            "first_rung_trials": len(first),
            "first_rung_median_s": round(float(np.median(first)), 2) if first else None,
            "first_rung_trials_per_minute": round(workers * 60 / float(np.median(first)), 1) if first else None}


def depth(t, p):
    """A trial's number of conv layers: drawn, or the space's fixed value."""
    return t.params.get("layers", p["space"]["layers"])


def by_depth(study, p, confirmed, max_steps):
    """Does depth pay? Per depth: the trials run (complete, pruned), the share of the training steps they used,
    the median step cost, the best score at the first rung (every trial that trained reached it: comparable
    across depths), the best complete trial (its inner score and parameters) and the depth of each confirmed
    candidate."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.params]
    total = sum(t.user_attrs.get("steps", 0) for t in trials) or 1
    first = p["min_steps"]
    out = []
    for d in sorted({depth(t, p) for t in trials}):
        mine = [t for t in trials if depth(t, p) == d]
        trained = [t for t in mine if t.intermediate_values]
        complete = [t for t in mine if t.state.name == "COMPLETE"]
        best = max(complete, key=lambda t: t.value) if complete else None
        rung = [t.intermediate_values[first] for t in trained if first in t.intermediate_values]
        cost = [t.user_attrs["mflop_per_step"] for t in mine if "mflop_per_step" in t.user_attrs]
        furthest = max(trained, key=lambda t: (max(t.intermediate_values), t.intermediate_values[
            max(t.intermediate_values)])) if trained else None
        out.append({"layers": d, "trials": len(mine), "trained": len(trained), "complete": len(complete),
                    "steps_share": round(sum(t.user_attrs.get("steps", 0) for t in mine) / total, 3),
                    "median_mflop_per_step": float(np.median(cost)) if cost else None,
                    "best_first_rung": max(rung) if rung else None,
                    "furthest_steps": max(furthest.intermediate_values) if furthest else None,
                    "furthest_value": furthest.intermediate_values[max(furthest.intermediate_values)]
                    if furthest else None,
                    "best_value": best.value if best else None, "best_trial": best.number if best else None,
                    "best_params": best.params if best else None,
                    "confirmed": [c["name"] for c in confirmed["candidates"] if c["config"]["layers"] == d]})
    return {"max_steps": max_steps, "first_rung": first, "stratified": "layers" in p["stratify"],
            "max_mflop_per_step": p["max_mflop_per_step"], "depths": out}


def write_outputs(study, p, base, meta, out_dir, search_minutes, confirmed, minutes):
    """trials.csv, best_params.json, confirm.json and the plots."""
    out = Path(out_dir)
    rows = trial_rows(study)
    fsio.write_csv(out / "trials.csv", rows, ["number", "state", "value", "steps", "duration_s", "params", "reason"])
    counts = {s: sum(r["state"] == s for r in rows) for s in ("COMPLETE", "PRUNED", "FAIL")}
    span = study_minutes(study)
    summary = {"study_name": study.study_name, "sampler": p["sampler"], "pruner": p["pruner"], "trials": len(rows),
               **{k.lower(): v for k, v in counts.items()}, "minutes": round(span, 3),
               "search_minutes": round(search_minutes, 3), "confirm_minutes": confirmed["minutes"],
               "this_run_minutes": round(minutes, 3),
               "trials_per_minute": round(len(rows) / span, 2) if span > 0 else None,
               "selected_on": "balanced accuracy on the held-out inner names",
               **budget(rows, base["steps"], p["min_steps"], confirmed["jobs"])}
    if counts["COMPLETE"]:
        best = study.best_trial
        cfg, _ = space.sample(optuna.trial.FixedTrial(best.params, best.number), p["space"], base, meta)
        summary.update(best_trial=best.number, best_value=best.value, best_params=best.params,
                       best_config={k: cfg[k] for k in space.KEYS}, command=space.exp_command(cfg, p["space"]))
    summary["by_depth"] = by_depth(study, p, confirmed, base["steps"])
    summary["winner"] = confirmed["winner"]
    summary["beats_default"] = confirmed["beats_default"]
    fsio.write_json(out / "best_params.json", summary)
    fsio.write_json(out / "confirm.json", confirmed)
    for name, fig in figures(study).items():
        plots.save(fig, out / f"{name}.png")
    return summary


def describe(s):
    """The search's summary in a few lines, for the stage and `namecnn search`."""
    w = s["winner"]
    lines = [f"study {s['study_name']}: {s['trials']} trials ({s['complete']} complete, {s['pruned']} pruned, "
             f"{s['fail']} failed) in {s['search_minutes']:.2f} min; confirmation {s['confirm_minutes']:.2f} min",
             f"budget: {s['steps_trained']} steps trained, {s['full_length_trials']} trials at full length "
             f"({s['full_length_share']} of the steps); first rung: {s['first_rung_trials_per_minute']} trials/min"]
    if "best_value" in s:
        lines.append(f"best trial {s['best_trial']}: inner balanced acc {s['best_value']:.4f}")
    lines.append(f"confirmed winner {w['name']}: inner balanced acc {w['inner_mean']:.4f} ± {w['inner_sd']:.4f}, "
                 f"validation acc {w['val_mean']:.4f} ± {w['val_sd']:.4f} (reported, not selected on)")
    if s["beats_default"]:
        lines.append(f"adopt it with: {w['command']}")
    elif w["command"]:
        lines.append(f"the default stays: {w['name']} leads it by {w['lead']:.4f}, not more than "
                     f"search.confirm.min_lead = {w['min_lead']:g} standard errors ({w['lead_se']:.4f})")
    else:
        lines.append("the default stays: the search did not beat it")
    return lines
