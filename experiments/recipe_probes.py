"""Two recipes the train section has no key for, probed where a recipe may be chosen (inner split, external dev):
label smoothing and character augmentation. Not part of the package: each is patched into one worker process.

    python experiments/recipe_probes.py --smoothing 0.1 0.2 --augment 0.3 0.6

- smoothing eps: the cross-entropy against (1 - eps) one-hot + eps / K, its gradient p - q;
- augment p: in each batch, a share p of the names loses or doubles one interior letter (even odds), as a
  misspelt or differently transliterated name would.

Each recipe trains seeds 1..n like benchmarks/recipe_lead.py (whose `run` this calls) and is judged by the same
rule: its lead over the default on external dev, in standard errors, against search.confirm.min_lead.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import recipe_lead  # noqa: E402

from namecnn import config  # noqa: E402
from namecnn.nn import layers  # noqa: E402
from namecnn.training import train, workers  # noqa: E402


def smoothed_loss(eps):
    def softmax_loss(scores, y):
        N, K = scores.shape
        shifted = scores - scores.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))        # (N, K)
        q = np.full_like(scores, eps / K)
        q[np.arange(N), y] += 1 - eps
        return -(q * logp).sum(axis=1).mean(), (np.exp(logp) - q) / N
    return softmax_loss


def augment(X, rng, p, pad):
    """A share p of the rows of X (N, n_len; index `pad`, the alphabet size d, pads) with one interior letter
    dropped or doubled; the boundary marks stay."""
    X = X.copy()
    for i in np.flatnonzero(rng.random(len(X)) < p):
        row, L = X[i], int((X[i] != pad).sum())
        if L < 5:
            continue
        j = int(rng.integers(1, L - 1))
        if rng.random() < 0.5:
            row[j:L - 1] = row[j + 1:L].copy()
            row[L - 1] = pad
        elif len(row) > L:
            row[j + 1:L + 1] = row[j:L].copy()
    return X


PLAIN = layers.softmax_loss, train.sgd_step      # a worker process runs many tasks: each starts from these


def run(task):
    kind, value, rest = task
    layers.softmax_loss, train.sgd_step = PLAIN
    if kind == "smoothing":
        layers.softmax_loss = smoothed_loss(value)
    elif kind == "augment":
        def sgd_step(params, velocity, Xb, yb, lr, cfg, rng):
            return PLAIN[1](params, velocity, augment(Xb, rng, value, params["F1"].shape[1]), yb, lr, cfg, rng)
        train.sgd_step = sgd_step
    return recipe_lead.run(rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoothing", type=float, nargs="*", default=[])
    ap.add_argument("--augment", type=float, nargs="*", default=[])
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    if not config.section("train")["boundary"]:
        sys.exit("the augmentation keeps the first and last index as boundary marks: train.boundary must be true")
    min_lead = config.section("search")["confirm"]["min_lead"]
    recipes = [("default", 0.0)] + [("smoothing", e) for e in args.smoothing] + [("augment", p) for p in args.augment]
    seeds = list(range(1, args.seeds + 1))
    res = workers.run_all(run, [(k, v, ({}, s, "data/encoded", "data/external")) for k, v in recipes for s in seeds],
                          workers.resolve_jobs(0))
    base = res[:len(seeds)]
    for i, (kind, value) in enumerate(recipes):
        r = res[i * len(seeds):(i + 1) * len(seeds)]
        line = (f"{kind} {value:g}: inner {np.mean([x[0] for x in r]):.4f}, external dev "
                f"{np.mean([x[1] for x in r]):.4f} (seeds {', '.join(f'{x[1]:.4f}' for x in r)})")
        if i:
            li = recipe_lead.lead([x[0] for x in base], [x[0] for x in r], min_lead)
            ld = recipe_lead.lead([x[1] for x in base], [x[1] for x in r], min_lead)
            line += (f"; lead inner {li['lead']:+.4f} ({li['z']:+.1f} SE), external dev {ld['lead']:+.4f} "
                     f"({ld['z']:+.1f} SE): {'adopt' if ld['passes'] and not li['loses'] else 'keep the default'}")
        print(line)


if __name__ == "__main__":
    main()
