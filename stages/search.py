"""search stage: Optuna over the network on the inner split of the training names, pruned by successive
halving, warm-started from the default network (the train section); then the best few and the default
confirmed with several seeds."""
import argparse

from namecnn import config
from namecnn.errors import guard
from namecnn.search import outputs
from namecnn.search import run as search
from namecnn.training import workers


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--workers", type=int, help="processes adding trials (default: search.workers; 0: one per core)")
    args = ap.parse_args()
    p = search.check(config.section("search"))
    train = config.section("train")
    jobs = workers.resolve_jobs(p["workers"] if args.workers is None else args.workers)
    s = search.search(p, train, args.encoded_dir, args.out_dir, jobs)
    for line in outputs.describe(s):
        print(f"search: {line}")


if __name__ == "__main__":
    guard(main)
