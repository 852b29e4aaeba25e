"""baseline stage: character n-gram TF-IDF + logistic regression (balanced class weights), for the report."""
import argparse
import time

import mlflow
import numpy as np

from namecnn import config, data, fsio
from namecnn.errors import guard
from namecnn.scoring import baseline, external
from namecnn.tracking import runs, store


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("unseen")
    ap.add_argument("external_dir", help="the external stage's names: the baseline's predictions on them go along")
    ap.add_argument("out_json")
    args = ap.parse_args()
    p = config.section("baseline")
    lo, hi = config.per_layer(p["ngram"], 2, "baseline.ngram")
    splits, meta = data.load(args.encoded_dir)
    names, yu = data.read_labelled_names(args.unseen, meta["n_classes"])
    start = time.time()
    clf = baseline.fit(splits["train"]["names"], splits["train"]["y"], (lo, hi), p["C"], p["analyzer"],
                       p["max_iter"], p["seed"])
    result = {"train_acc": float(np.mean(clf.predict(list(splits["train"]["names"])) == splits["train"]["y"])),
              "val_acc": float(np.mean(clf.predict(list(splits["val"]["names"])) == splits["val"]["y"])),
              "unseen_acc": float(np.mean(clf.predict(names) == yu)), "seconds": round(time.time() - start, 1),
              "config": {**p, "ngram": [lo, hi]}}
    result["external"] = {}
    for split in external.SPLITS:                  # per name, so that evaluate compares the model on the same names
        ext, _ = external.read(args.external_dir, split, meta["classes"])
        result["external"][split] = {"names": ext, "predicted": [int(v) for v in clf.predict(ext)]} if ext else None
    fsio.write_json(args.out_json, result)
    root = store.repo_root()
    experiment_id = store.experiment(store.STUDY_EXPERIMENT, root)
    runs.start_run(experiment_id, "baseline-tfidf-logreg", "baseline", root, tags={"study.config": "baseline"})
    with runs.run_status():
        store.log_config(result["config"], "baseline.")
        mlflow.log_metrics({k: v for k, v in result.items() if k.endswith("acc")})
    print(f"baseline: char {lo}-{hi}-gram TF-IDF + logistic regression: val acc {result['val_acc']:.4f}, "
          f"unseen {result['unseen_acc']:.4f}, train {result['train_acc']:.4f}")


if __name__ == "__main__":
    guard(main)
