"""external stage: surnames from independent lists (Faker, a pinned version), folded as predict folds them,
absent from the DD2424 files, split per language into external dev and test (scoring/external.py)."""
import argparse

from namecnn import config, data
from namecnn.errors import guard
from namecnn.scoring import external


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_dir", help="<out>/dev/<Language>.txt, <out>/test/<Language>.txt, summary.json")
    args = ap.parse_args()
    p = config.section("external")
    splits, meta = data.load(args.encoded_dir)
    known = [*splits["train"]["names"], *splits["val"]["names"]]
    alphabet = set(meta["itos"]) - {meta.get("boundary")}
    names, summary = external.build(known, alphabet, meta["classes"], p)
    external.write(args.out_dir, names, summary)
    for language, info in summary["languages"].items():
        kept = names.get(language)
        print(f"external: {language}: {info['listed']} listed, {info['in_dd2424']} in the DD2424 files, "
              f"{info['outside_alphabet']} outside the alphabet; "
              + (f"{len(kept['dev'])} dev, {len(kept['test'])} test" if kept else info["dropped"]))


if __name__ == "__main__":
    guard(main)
