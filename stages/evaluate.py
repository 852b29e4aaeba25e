"""evaluate stage: score the trained model on train, validation and unseen names; log into the training run."""
import argparse
import json
from pathlib import Path

import mlflow
import numpy as np

from namecnn import config, data, fsio, rawdata
from namecnn.errors import NameCNNError, guard
from namecnn.nn import model, modelio
from namecnn.reporting import card, plots
from namecnn.scoring import calibration, compare, external
from namecnn.scoring import metrics as evaluation
from namecnn.serving import predict
from namecnn.tracking import lookup, registry, store


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("model_dir")
    ap.add_argument("unseen", help="celebrity_names.txt: `name LABEL` lines")
    ap.add_argument("external_dir", help="the external stage's names, dev/ and test/")
    ap.add_argument("baseline_json", help="the baseline stage's output, with its predictions on the external names")
    ap.add_argument("run_json", help="the train stage's MLflow run")
    ap.add_argument("metrics_json")
    ap.add_argument("out_dir")
    ap.add_argument("raw_dir", help="data/raw: which edition of the names, for the model card")
    ap.add_argument("card", help="the model card to write (also logged with the registered version)")
    args = ap.parse_args()
    p = config.section("evaluate")
    splits, meta = data.load(args.encoded_dir)
    params, mmeta = modelio.load(args.model_dir)
    classes = meta["classes"]
    unseen_names, unseen_y = data.read_labelled_names(args.unseen, len(classes))
    run = store.read_run(args.run_json)
    run_id = run["run_id"]
    rng = np.random.default_rng(p["seed"])
    out = Path(args.out_dir)

    results = {}
    boundary = bool(mmeta.get("boundary"))
    T = predict.temperature(mmeta)
    for split in ("train", "val"):
        P = model.predict_proba(params, data.inputs(splits[split], boundary)["X"], temperature=T)
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
    results["unseen"] = evaluation.unseen(unseen_rows, Pu.argmax(axis=1) == unseen_y)
    honest = calibration.report(model.predict_proba(params, data.inputs(splits["val"], boundary)["X"]), Pv, yv,
                                mmeta.get("calibration"), classes, rng, p["bootstrap"], p["level"])
    results["external"] = {}
    base = json.loads(Path(args.baseline_json).read_text())["external"]
    for split in external.SPLITS:                 # the model and the n-gram baseline on the same external names
        names, y = external.read(args.external_dir, split, classes)
        if names and base[split]["names"] == names:
            pred_ext = predict.probabilities(params, mmeta, names).argmax(axis=1)
            results["external"][split] = external.score(pred_ext, base[split]["predicted"], y, classes, rng,
                                                         p["bootstrap"], p["level"])
    cm = evaluation.confusion(yv, pred, len(classes))
    predictions = [{"name": str(n), "actual": classes[a], "predicted": classes[b]}
                   for n, a, b in zip(splits["val"]["names"], yv, pred, strict=True)]

    store.connect()
    with store.store_errors():
        results["champion"] = against_champion(predictions, run_id, rng, p)
        fsio.write_json(out / "scores.json", results)
        fsio.write_json(args.metrics_json, evaluation.headline(results, run.get("ms_per_step")))
        fsio.write_json(out / "confusion.json", predictions)
        fsio.write_csv(out / "per_class.csv", evaluation.per_class(yv, pred, classes))
        fsio.write_csv(out / "unseen.csv", unseen_rows)
        fsio.write_json(out / "confusion_matrix.json", {"classes": classes, "matrix": cm.tolist()})
        plots.save(plots.confusion(cm, classes), out / "confusion.png")
        fsio.write_json(out / "calibration.json", honest)
        fsio.write_csv(out / "reliability.csv", [{"model": kind, **r} for kind, rows in honest["reliability"].items()
                                                 for r in rows])
        plots.save(plots.reliability(honest), out / "reliability.png")
        plots.save(plots.selective(honest), out / "selective.png")
        facts = {"version": run["version"], "run_id": run_id, "data_md5": store.data_hash(store.repo_root()),
                 "commit": mlflow.MlflowClient().get_run(run_id).data.tags.get("mlflow.source.git.commit", "unknown"),
                 "edition": rawdata.edition(args.raw_dir), "model": mmeta, "classes": classes,
                 "counts": meta["counts"], "scores": results, "per_class": evaluation.per_class(yv, pred, classes),
                 "calibration": honest, "confusion": cm, "predictions": predictions}
        fsio.write_text(args.card, card.render(facts))
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics(evaluation.mlflow_metrics(results))
            mlflow.log_metrics({**calibration.mlflow_metrics(honest), **external.mlflow_metrics(results["external"])})
            for name in ("confusion.png", "confusion.json", "confusion_matrix.json", "per_class.csv", "unseen.csv",
                         "scores.json", "calibration.json", "reliability.png", "selective.png"):
                mlflow.log_artifact(str(out / name), "evaluation")
        registry.attach_card(run_id, args.card, card.head(facts))
    v, u, c = results["val"], results["unseen"], results["champion"]
    print(f"evaluate: val acc {v['acc']:.4f} (95% CI {v['acc_ci_low']:.3f}-{v['acc_ci_high']:.3f}), balanced "
          f"{v['balanced_acc']:.4f}, top-3 {v['top3_acc']:.4f}, macro-F1 {v['macro_f1']:.4f}; train acc "
          f"{results['train']['acc']:.4f}; unseen {u['new_acc']:.4f} of the {u['n_new']} not in the training data "
          f"({u['acc']:.4f} of {u['n']})")
    cal, raw, sets = honest["calibrated"], honest["uncalibrated"], honest.get("sets")
    print(f"evaluate: T = {honest['temperature']:.3f}: NLL {raw['nll']:.4f} -> {cal['nll']:.4f}, ECE {raw['ece']:.4f} "
          f"-> {cal['ece']:.4f} ({cal['ece_ci_low']:.3f}-{cal['ece_ci_high']:.3f})"
          + (f"; sets at {sets['coverage_target']:g}: coverage {sets['coverage']:.3f}, mean size "
             f"{sets['mean_size']:.2f}" if sets else ""))
    for split, e in results["external"].items():
        print(f"evaluate: external {split} ({e['n']} names, {e['languages']} languages): balanced acc "
              f"{e['balanced_acc']:.4f}, n-gram baseline {e['baseline_balanced_acc']:.4f}; "
              f"{compare.verdict(e['vs_baseline'], 'the model', 'the baseline')}")
    if c and "reason" in c:
        print(f"evaluate: not compared with the champion (version {c['version']}): {c['reason']}")
    elif c:
        champ = f"the champion (version {c['version']})"
        print(f"evaluate: {compare.verdict(c, 'this model', champ)}")



def against_champion(predictions, run_id, rng, p):
    """This model against the champion (the one reference of every comparison) on the same validation names:
    compare.by_name (A this model, B the champion) plus the champion's version and run; None when there is no
    champion, or this run is it; the reason instead of the comparison when it cannot be made (the champion's
    artifacts gone, no names in common): the model is evaluated all the same."""
    client = mlflow.MlflowClient()
    held = registry.champion(client)
    if held is None or held.run_id == run_id:
        return None
    out = {"version": int(held.version), "run_id": held.run_id,
           "champion_val_acc": registry.val_acc(client, held.run_id)}
    mine = {r["name"]: (r["actual"], r["predicted"]) for r in predictions}
    try:
        return {**compare.by_name(mine, lookup.predictions(held.run_id), rng, p["bootstrap"], p["level"]), **out}
    except NameCNNError as e:
        return {**out, "reason": str(e)}


if __name__ == "__main__":
    guard(main)
