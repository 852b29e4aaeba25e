"""search stage: Optuna over the network on the inner split of the training names, pruned by successive
halving, warm-started from the default; then the best few and the default confirmed with several seeds."""
import argparse

from namecnn import config, data, search, searchout, workers
from namecnn.errors import guard


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--workers", type=int, help="processes adding trials (default: search.workers; 0: one per core)")
    args = ap.parse_args()
    p = search.check(config.section("search"))
    _, meta = data.load(args.encoded_dir)
    default = search.default_of(p, meta)
    jobs = workers.resolve_jobs(p["workers"] if args.workers is None else args.workers)
    s = search.search(p, default, args.encoded_dir, args.out_dir, jobs)
    for line in searchout.describe(s):
        print(f"search: {line}")


if __name__ == "__main__":
    guard(main)
