"""study stage: every configuration of study.configs trained with every seed of study.seeds, `study.jobs`
trainings at a time (0: one per core), each an MLflow run in experiment `study`.

Writes reports/study/<name>.json per configuration (per-seed and mean ± std train, validation and unseen
accuracy, and the seeds' averaged predictions) and reports/study/summary.json (wall time, processes).
"""
import argparse
import time
from pathlib import Path

import numpy as np

from namecnn import config, data, fsio, study, tracking, workers
from namecnn.errors import guard


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("unseen", help="celebrity_names.txt: `name LABEL` lines")
    ap.add_argument("out_dir")
    ap.add_argument("metric_json", help="the default network's seed mean and sd: DVC metrics")
    args = ap.parse_args()
    p = config.section("study")
    splits, meta = data.load(args.encoded_dir)
    nets = {name: study.network(p, name, meta) for name in p["configs"]}      # every key checked before work
    _, yu = data.read_labelled_names(args.unseen, meta["n_classes"])
    root = tracking.repo_root()
    experiment_id = tracking.experiment(tracking.STUDY_EXPERIMENT, root)
    tasks = [study.Task(name, cfg, seed, str(args.encoded_dir), str(args.unseen), str(root), experiment_id)
             for name, (cfg, _) in nets.items() for seed in p["seeds"]]
    tasks.sort(key=lambda t: -t.cfg["steps"] * sum(t.cfg["filters"]))    # longest first: the last ones fill gaps
    jobs = workers.resolve_jobs(p["jobs"])
    start = time.time()
    results = workers.run_all(study.train_seed, tasks, jobs)
    wall = time.time() - start
    yv = splits["val"]["y"].astype(np.int64)
    out = Path(args.out_dir)
    headline = {}
    for name, (cfg, _) in nets.items():
        mine = sorted((r for t, r in zip(tasks, results, strict=True) if t.name == name), key=lambda r: r[0]["seed"])
        record = study.summarise(name, cfg, mine, yv, yu, meta["classes"])
        fsio.write_json(out / f"{name}.json", record)
        if name == study.DEFAULT:
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
