"""champion stage: the trained model becomes models:/namecnn@champion when it is the committed default (the
train section as git's HEAD holds it, not a DVC experiment: an adopted variant after `dvc exp apply`, commit,
`dvc repro`), else the `challenger`; writes reports/champion.json saying which version is served and why."""
import argparse

from namecnn import config, fsio
from namecnn.errors import guard
from namecnn.tracking import registry, store, variant


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run_json", help="the train stage's run and registered version")
    ap.add_argument("out_json")
    args = ap.parse_args()
    section = config.section("train")
    run = store.read_run(args.run_json)
    committed = variant.committed_section("train")
    adopted = variant.adopted(variant.changes(section, committed), committed)
    store.connect()
    role, champion = registry.settle(run["version"], adopted)
    why = ("the committed default (the train section as committed)" if adopted else
           "an experiment or a train section that differs from the commit: it never moves the champion by itself")
    fsio.write_json(args.out_json, {"version": run["version"], "role": role, "champion": champion, "why": why})
    if role == registry.CHAMPION:
        print(f"champion: models:/namecnn@champion is version {champion}, {why}")
    else:
        print(f"champion: version {run['version']} is the challenger, {why}; the champion stays version {champion} "
              f"(adopt it: dvc exp apply, commit, dvc repro; or namecnn promote)")


if __name__ == "__main__":
    guard(main)
