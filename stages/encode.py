"""encode stage: raw surname files -> data/encoded/{train,val}.npz and meta.json."""
import argparse

import numpy as np

from namecnn import data, fsio
from namecnn.errors import NameCNNError, guard


def summary(meta):
    counts = meta["counts"]
    lines = [f"alphabet ({meta['d']}): {meta['alphabet']!r}   n_len: {meta['n_len']}",
             f"{'class':<12}{'train':>7}{'val':>5}"]
    for c in meta["classes"]:
        lines.append(f"{c:<12}{counts['train'][c]:>7}{counts['val'][c]:>5}")
    lines.append(f"{'total':<12}{sum(counts['train'].values()):>7}{sum(counts['val'].values()):>5}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("raw_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args()

    splits, meta = data.prepare(args.raw_dir)
    val_counts = set(meta["counts"]["val"].values())
    if 0 in val_counts:
        raise NameCNNError(f"{args.raw_dir}/{data.VAL_INDS}: some class has no validation name")
    with fsio.atomic_dir(args.out_dir) as tmp:          # the three files are replaced together or not at all
        for split, arrays in splits.items():
            fsio.write_npz(tmp / f"{split}.npz", **arrays)
        fsio.write_json(tmp / "meta.json", meta)
    print(summary(meta))
    balance = f"balanced, {val_counts.pop()} per class" if len(val_counts) == 1 else "NOT balanced"
    print(f"validation split: {len(splits['val']['y'])} names, {balance}; "
          f"train: {len(splits['train']['y'])} names, smallest class {np.bincount(splits['train']['y']).min()}")


if __name__ == "__main__":
    guard(main)
