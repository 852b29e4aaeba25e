"""study stage (the DD2424 study, not an Optuna one): every configuration of study.configs (`default_model: train`
is the train section) trained with every seed of study.seeds, `study.jobs`
trainings at a time (0: one per core), each an MLflow run in experiment `study`.

Writes reports/study/<name>.json per configuration (per-seed and mean ± std train, validation and unseen
accuracy, and the seeds' averaged predictions) and reports/study/summary.json (wall time, processes).
"""
import argparse
import time
from pathlib import Path

import numpy as np

from namecnn import config, data, fsio
from namecnn.errors import guard
from namecnn.study import networks, trainings
from namecnn.tracking import store, tracked
from namecnn.training import workers


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("unseen", help="celebrity_names.txt: `name LABEL` lines")
    ap.add_argument("out_dir")
    ap.add_argument("metric_json", help="the default network's seed mean and sd: DVC metrics")
    args = ap.parse_args()
    p = config.section("study")
    train = config.section("train")
    splits, meta = data.load(args.encoded_dir)
    nets = {name: networks.network(p, name, meta, train) for name in p["configs"]}      # every key checked before work
    _, yu = data.read_labelled_names(args.unseen, meta["n_classes"])
    root = store.repo_root()
    experiment_id = store.experiment(store.STUDY_EXPERIMENT, root)
    tasks = [trainings.Task(name, cfg, seed, str(args.encoded_dir), str(args.unseen),
                       tracked.Place(experiment_id, str(root), "study"))
             for name, (cfg, _) in nets.items() for seed in p["seeds"]]
    tasks.sort(key=lambda t: -t.cfg["steps"] * sum(t.cfg["filters"]))    # longest first: the last ones fill gaps
    jobs = workers.resolve_jobs(p["jobs"])
    start = time.time()
    results = workers.run_all(trainings.train_seed, tasks, jobs)
    wall = time.time() - start
    yv = splits["val"]["y"].astype(np.int64)
    out = Path(args.out_dir)
    headline = {}
    for name, (cfg, _) in nets.items():
        mine = sorted((r for t, r in zip(tasks, results, strict=True) if t.name == name), key=lambda r: r[0]["seed"])
        record = trainings.summarise(name, cfg, mine, yv, yu, meta["classes"])
        fsio.write_json(out / f"{name}.json", record)
        if name == networks.DEFAULT:
            headline = {"seed_mean": round(record["mean"]["val_acc"], 4), "seed_sd": round(record["std"]["val_acc"], 4)}
        m, s = record["mean"], record["std"]
        print(f"study {name}: val {m['val_acc']:.4f} ± {s['val_acc']:.4f}, train {m['train_acc']:.4f}, unseen "
              f"{m['unseen_acc']:.3f}; {len(mine)} seeds x {cfg['steps']} steps, {record['seconds']:.0f} s of training")
    summary = {"configs": len(nets), "seeds": p["seeds"], "trainings": len(tasks), "jobs": jobs,
               "wall_seconds": round(wall, 1),
               "training_seconds": round(sum(r[0]["seconds"] for r in results), 1)}
    fsio.write_json(out / "summary.json", summary)
    fsio.write_json(args.metric_json, headline)
    print(f"study: {len(tasks)} trainings in {wall / 60:.1f} min on {jobs} processes "
          f"({summary['training_seconds'] / 60:.1f} min of training)")


if __name__ == "__main__":
    guard(main)
