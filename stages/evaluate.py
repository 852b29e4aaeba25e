"""evaluate stage: score the trained model on train, validation and unseen names; log into the training run."""
import argparse
from pathlib import Path

import numpy as np

from namecnn import config, data, evaluation, fsio, model, modelio, plots, predict, registry, tracking
from namecnn.errors import run

KEYS = ("seed", "bootstrap", "level")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("model_dir")
    ap.add_argument("unseen", help="celebrity_names.txt: `name LABEL` lines")
    ap.add_argument("run_json", help="the train stage's MLflow run")
    ap.add_argument("metrics_json")
    ap.add_argument("out_dir")
    args = ap.parse_args()
    p = config.section("evaluate", KEYS)
    config.number(p, "seed", "evaluate", 0, integer=True)
    config.number(p, "bootstrap", "evaluate", 1, integer=True)
    config.number(p, "level", "evaluate", 0, 1, lo_open=True, hi_open=True)
    splits, meta = data.load(args.encoded_dir)
    params, mmeta = modelio.load(args.model_dir)
    classes = meta["classes"]
    unseen_names, unseen_y = data.read_labelled_names(args.unseen, len(classes))
    run_id = tracking.read_run(args.run_json)
    rng = np.random.default_rng(p["seed"])
    out = Path(args.out_dir)

    results = {}
    boundary = bool(mmeta.get("boundary"))
    for split in ("train", "val"):
        P = model.predict_proba(params, data.inputs(splits[split], boundary)["X"])
        results[split] = evaluation.scores(P, splits[split]["y"].astype(np.int64), len(classes))
        if split == "val":
            yv, Pv = splits["val"]["y"].astype(np.int64), P
    pred = Pv.argmax(axis=1)
    lo, hi = evaluation.bootstrap_ci(pred == yv, rng, p["bootstrap"], p["level"])
    results["val"].update(acc_ci_low=lo, acc_ci_high=hi)
    Pu = predict.probabilities(params, mmeta, unseen_names)
    trained_as = {str(n).lower(): classes[c] for n, c in zip(splits["train"]["names"], splits["train"]["y"],
                                                             strict=True)}
    unseen_rows = [{"name": n, "actual": classes[a], "predicted": classes[int(i)], "probability": float(Pu[j, i]),
                    "training_label": trained_as.get(n.lower(), "")}
                   for j, (n, a, i) in enumerate(zip(unseen_names, unseen_y, Pu.argmax(axis=1), strict=True))]
    right = Pu.argmax(axis=1) == unseen_y
    new = np.array([r["training_label"] == "" for r in unseen_rows])
    agree = np.array([r["training_label"] in ("", r["actual"]) for r in unseen_rows])
    results["unseen"] = {"acc": float(np.mean(right)), "n": len(unseen_names),
                         "new_acc": float(np.mean(right[new])), "n_new": int(new.sum()),
                         "non_conflicting_acc": float(np.mean(right[agree])), "n_non_conflicting": int(agree.sum()),
                         "trained_with_other_label": int((~agree).sum()),
                         "conflicting": [r["name"] for r, a in zip(unseen_rows, agree, strict=True) if not a]}

    cm = evaluation.confusion(yv, pred, len(classes))
    fsio.write_json(args.metrics_json, results)
    fsio.write_json(out / "confusion.json", [{"name": str(n), "actual": classes[a], "predicted": classes[b]}
                                              for n, a, b in zip(splits["val"]["names"], yv, pred, strict=True)])
    fsio.write_csv(out / "per_class.csv", evaluation.per_class(yv, pred, classes))
    fsio.write_csv(out / "unseen.csv", unseen_rows)
    fsio.write_json(out / "confusion_matrix.json", {"classes": classes, "matrix": cm.tolist()})
    plots.save(plots.confusion(cm, classes), out / "confusion.png")

    import mlflow

    tracking.connect()
    with tracking.store_errors():
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics({f"final_{split}_{k}": v for split, r in results.items() for k, v in r.items()
                                if isinstance(v, (int, float))})                # not the list of conflicting names
            for name in ("confusion.png", "confusion.json", "confusion_matrix.json", "per_class.csv", "unseen.csv"):
                mlflow.log_artifact(str(out / name), "evaluation")
        champion = registry.promote_champion(registry.MODEL)
    v, u = results["val"], results["unseen"]
    print(f"evaluate: val acc {v['acc']:.4f} (95% CI {lo:.3f}-{hi:.3f}), balanced {v['balanced_acc']:.4f}, "
          f"top-3 {v['top3_acc']:.4f}, macro-F1 {v['macro_f1']:.4f}; train acc {results['train']['acc']:.4f}; "
          f"unseen {u['new_acc']:.4f} of the {u['n_new']} not in the training data ({u['acc']:.4f} of {u['n']})")
    if champion:
        print(f"evaluate: models:/namecnn@champion is version {champion[0]} (final_val_acc {champion[1]:.4f})")


if __name__ == "__main__":
    run(main)
