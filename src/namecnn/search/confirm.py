"""The search's confirmation: the default network and the best few trials, each retrained at the full step
count with several seeds. Each (candidate, seed) trains twice: on the inner training names, scored on the
held-out inner names (the score that chooses the winner), and on all training names as the train stage does,
scored on the validation names (the score that is only reported, comparable with the train stage's model). Its
run holds both confusion matrices (inner/, val/) and the second network as its model."""
import time
from dataclasses import dataclass

import mlflow
import numpy as np
import optuna

from .. import data
from ..serving import outcome
from ..tracking import tracked
from ..training import workers
from . import space, trials


@dataclass(frozen=True)
class Task:
    """One retraining: picklable, for a spawned worker."""
    candidate: str
    trial: int
    cfg: dict
    seed: int
    ctx: trials.Context


DEFAULT = "train"           # the default network's candidate: the train section


def candidates(study, top):
    """[(name, trial number, trial params)]: the default (trial 0, enqueued) and the `top` best other trials,
    ranked by the furthest rung they reached, then by their inner score there (a complete trial first)."""
    enqueued = [t for t in study.trials if t.user_attrs.get("enqueued") == DEFAULT]
    out = [(DEFAULT, enqueued[0].number if enqueued else None, enqueued[0].params if enqueued else None)]
    scored = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED") and t.intermediate_values
              and t.params != out[0][2]]
    def rank(t):
        rung = max(t.intermediate_values)
        return -rung, -t.intermediate_values[rung]

    done = sorted(scored, key=rank)
    seen = [out[0][2]]
    for t in done:
        if len(out) > top:
            break
        if t.params not in seen:
            seen.append(t.params)
            out.append((f"trial-{t.number}", t.number, t.params))
    return out


def retrain(task):
    """One candidate, one seed, one MLflow run: trained on the inner training names -> the inner score; trained
    on all training names -> the validation score."""
    start = time.time()
    ctx = task.ctx
    splits, meta = data.load(ctx.encoded_dir)
    fit_names, held = trials.inner(ctx, splits)
    cfg, arch = tracked.resolve(task.cfg, task.seed, meta, f"confirm {task.candidate}")
    tags = {"optuna.study": ctx.study_name, "confirm.candidate": task.candidate, "confirm.seed": str(task.seed),
            "optuna.trial": str(task.trial)}
    with tracked.training_run(ctx.place, f"confirm-{task.candidate}-seed{task.seed}", cfg, tags) as stop:
        row = {"seed": task.seed}
        for name, (fit_on, score_on) in (("inner", (fit_names, held)), ("val", (splits["train"], splits["val"]))):
            params, history = tracked.fit(cfg, arch, fit_on, score_on, stop)
            last = history[-1]
            row.update({f"{name}_acc": last["val_acc"], f"{name}_balanced_acc": last["val_balanced_acc"]})
            outcome.log_outcome(params, arch, meta, cfg, score_on, name, with_model=name == "val")
        mlflow.log_metrics({k: v for k, v in row.items() if k != "seed"})
        row["run_id"] = mlflow.active_run().info.run_id
    return {**row, "seconds": round(time.time() - start, 1)}


def stats(rows, key):
    values = [r[key] for r in rows]
    return {"mean": float(np.mean(values)), "sd": float(np.std(values))}


def confirm(ctx, study, encoded_dir, jobs):
    """Retrain the candidates (every seed of search.confirm.seeds) in `jobs` processes -> the confirm record."""
    p = ctx.search
    _, meta = data.load(encoded_dir)
    found = candidates(study, p["confirm"]["top"])
    cfgs = {}
    for name, number, params in found:
        if params is None:
            cfgs[name] = ctx.base
        else:
            cfgs[name], _ = space.sample(optuna.trial.FixedTrial(params, number), p["space"], ctx.base, meta)
    k = p["confirm"]["ensemble"]
    if k > 1 and ctx.base["ensemble"] != k:        # the default as a seed ensemble: judged by the same rule
        found.append((f"{DEFAULT}-ensemble{k}", found[0][1], None))
        cfgs[found[-1][0]] = {**ctx.base, "ensemble": k}
    tasks = [Task(name, number, cfgs[name], seed, ctx) for name, number, _ in found for seed in p["confirm"]["seeds"]]
    start = time.time()
    results = workers.run_all(retrain, tasks, jobs)
    out = []
    for name, number, _ in found:
        rows = [r for t, r in zip(tasks, results, strict=True) if t.candidate == name]
        out.append({"name": name, "trial": number, "config": {k: cfgs[name][k] for k in (*space.KEYS, "ensemble")},
                    "runs": rows, **{k: stats(rows, k) for k in ("inner_balanced_acc", "inner_acc", "val_acc",
                                                                  "val_balanced_acc")}})
    min_lead = p["confirm"]["min_lead"]
    best, lead, se, beats = verdict(out, min_lead)
    winner = {"name": best["name"], "trial": best["trial"], "inner_mean": best["inner_balanced_acc"]["mean"],
              "inner_sd": best["inner_balanced_acc"]["sd"], "val_mean": best["val_acc"]["mean"],
              "val_sd": best["val_acc"]["sd"], "is_default": best is out[0], "lead": lead, "lead_se": se,
              "min_lead": min_lead,
              "command": None if best is out[0] else space.exp_command(cfgs[best["name"]], p["space"], ctx.base)}
    return {"selected_on": "mean balanced accuracy on the held-out inner names (never the validation names)",
            "seeds": p["confirm"]["seeds"], "steps": ctx.base["steps"], "candidates": out, "winner": winner,
            "default": DEFAULT, "beats_default": beats,
            "minutes": round((time.time() - start) / 60, 3), "jobs": jobs}


def verdict(candidates, min_lead):
    """(winner, lead, se, beats): the candidate with the best mean inner score; its lead over the default
    (candidates[0]); the standard error of that lead from each one's sample sd over its seeds (0 with one seed);
    and whether it replaces the default, a lead of more than min_lead standard errors. Three seeds cannot tell
    a lead of a fraction of their spread from noise, and adopting a new default reruns the study."""
    best = max(candidates, key=lambda c: c["inner_balanced_acc"]["mean"])
    a, b = ([r["inner_balanced_acc"] for r in c["runs"]] for c in (best, candidates[0]))
    lead = float(np.mean(a) - np.mean(b))
    se = float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))) if min(len(a), len(b)) > 1 else 0.0
    return best, lead, se, best is not candidates[0] and lead > min_lead * se
