"""search stage: Optuna over layers, filters, widths and learning rate; trials are nested MLflow runs."""
import argparse

from namecnn import config, search, workers
from namecnn.errors import run


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--workers", type=int, help="processes adding trials (default: search.workers; 0: one per core)")
    args = ap.parse_args()
    p = search.check(config.load_section("search"))
    jobs = workers.resolve_jobs(p["workers"] if args.workers is None else args.workers)
    s = search.search(p, config.load_section("train"), args.encoded_dir, args.out_dir, jobs)
    print(f"search: study {s['study_name']}: {s['trials']} trials ({s['complete']} complete, {s['pruned']} pruned, "
          f"{s['fail']} failed) in {s['minutes']:.2f} min, {s['trials_per_minute']} trials/min")
    if "best_value" in s:
        print(f"search: best trial {s['best_trial']}: val acc {s['best_value']:.4f}; train it with\n  {s['command']}")


if __name__ == "__main__":
    run(main)
