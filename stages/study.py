"""study stage: one configuration of the reproduced study, trained with every seed of `study.seeds`.

Writes per-seed and mean ± std train, validation and unseen-name accuracy, and the accuracy of the seeds'
averaged predictions (an ensemble); each seed is an MLflow run in experiment `study`.
"""
import argparse
import time

import numpy as np

from namecnn import config, data, fsio, model, modelio, predict, tracking, train
from namecnn.errors import NameCNNError, run
from namecnn.memory import keep_freed_memory

KEYS = ("steps", "seeds", "base", "configs")


def accuracy(P, y):
    return float(np.mean(P.argmax(axis=1) == y))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("name", help="a key of study.configs, or with --train any name for the train section")
    ap.add_argument("--train", action="store_true", help="train the `train` section itself (its own steps)")
    ap.add_argument("encoded_dir")
    ap.add_argument("unseen")
    ap.add_argument("out_json")
    args = ap.parse_args()
    p = config.section("study", KEYS)
    config.number(p, "steps", "study", 1, integer=True)
    if not isinstance(p["seeds"], list) or not p["seeds"]:
        raise NameCNNError(f"study.seeds: expected a non-empty list of integers, got {p['seeds']!r}")
    splits, meta = data.load(args.encoded_dir)
    if args.train:
        cfg, arch = config.train_config(config.load_section("train"), meta)
    elif args.name not in p["configs"]:
        raise NameCNNError(f"study.configs.{args.name}: no such configuration")
    else:
        over = p["configs"][args.name] or {}
        cfg, arch = config.train_config({**p["base"], "steps": p["steps"], "eval_every": p["steps"], **over}, meta,
                                        section=f"study.configs.{args.name}")
    names, yu = data.read_labelled_names(args.unseen, meta["n_classes"])
    keep_freed_memory()
    import mlflow

    root = tracking.repo_root()
    experiment_id = tracking.experiment("study", root)
    ytr, yv = splits["train"]["y"].astype(np.int64), splits["val"]["y"].astype(np.int64)
    runs, Pv, Pu = [], [], []
    start = time.time()
    for seed in p["seeds"]:
        c = {**cfg, "seed": seed}
        mlflow.start_run(experiment_id=experiment_id, run_name=f"{args.name}-seed{seed}",
                         tags={**tracking.run_tags(root, "study"), "study.config": args.name})
        with tracking.run_status() as stop:
            mlflow.log_params({k: v for k, v in c.items() if k != "lr"} | {f"lr.{k}": v for k, v in c["lr"].items()})
            params, _ = train.fit(c, arch, splits["train"], splits["val"], np.random.default_rng(seed),
                                  progress=False, stop=stop)
            P = model.predict_proba(params, data.inputs(splits["val"], c["boundary"])["X"])
            Q = predict.probabilities(params, modelio.model_meta(arch, meta, c), names)
            Xtr = data.inputs(splits["train"], c["boundary"])["X"]
            row = {"seed": seed, "train_acc": accuracy(model.predict_proba(params, Xtr), ytr),
                   "val_acc": accuracy(P, yv), "unseen_acc": accuracy(Q, yu),
                   "run_id": mlflow.active_run().info.run_id}
            mlflow.log_metrics({k: v for k, v in row.items() if k.endswith("acc")})
        runs.append(row)
        Pv.append(P)
        Pu.append(Q)
    keys = ("train_acc", "val_acc", "unseen_acc")
    Pu_mean = np.mean(Pu, axis=0)
    result = {"name": args.name, "config": {k: cfg[k] for k in cfg if k != "seed"}, "steps": cfg["steps"],
              "seeds": p["seeds"], "runs": runs,
              "mean": {k: float(np.mean([r[k] for r in runs])) for k in keys},
              "std": {k: float(np.std([r[k] for r in runs])) for k in keys},
              "ensemble": {"val_acc": accuracy(np.mean(Pv, axis=0), yv), "unseen_acc": accuracy(Pu_mean, yu),
                           "unseen_predicted": [meta["classes"][i] for i in Pu_mean.argmax(axis=1)],
                           "unseen_probability": [float(x) for x in Pu_mean.max(axis=1)]},
              "seconds": round(time.time() - start, 1)}
    fsio.write_json(args.out_json, result)
    m, s = result["mean"], result["std"]
    print(f"study {args.name}: val {m['val_acc']:.4f} ± {s['val_acc']:.4f}, train {m['train_acc']:.4f}, unseen "
          f"{m['unseen_acc']:.3f}; {len(runs)} seeds x {cfg['steps']} steps in {result['seconds']:.0f} s")


if __name__ == "__main__":
    run(main)
