"""train stage: fit the network of params.yaml's `train` section (train.ensemble seeds of it, as one model) on the
training names less train.calibration of them, fit its temperature and prediction sets (the `predict` section) on
those held-out names, log the run to MLflow, save the model."""
import argparse
import time
from pathlib import Path

import mlflow
import numpy as np

import namecnn
from namecnn import config, data, fsio
from namecnn.errors import guard
from namecnn.nn import model, modelio
from namecnn.reporting import plots
from namecnn.scoring import calibration
from namecnn.serving import predict, pyfunc
from namecnn.tracking import registry, runs, store, variant
from namecnn.training import members, recipe, workers

ABOUT = ("Metrics: `val/*` on the 216 validation names (`val/final_acc`, its interval `val/acc_ci_low`/`high`, "
         "`val/vs_champion`: the difference to the registered champion on the same names, with its paired "
         "bootstrap interval and McNemar p), `train/*` the training curves, `unseen/*` the celebrity names.")


def curve_metrics(row):
    """A history row as MLflow metric names grouped by section: val_acc -> val/acc, lr -> train/lr."""
    return {(k.replace("_", "/", 1) if k.startswith(("train_", "val_")) else f"train/{k}"): v
            for k, v in row.items() if k != "step"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("model_dir")
    ap.add_argument("out_dir", help="history.csv, curves.png, run.json")
    args = ap.parse_args()
    splits, meta = data.load(args.encoded_dir)
    section = config.section("train")
    answers = config.section("predict")
    cfg, arch = recipe.train_config(section, meta)
    workers.one_thread()      # queued experiments run side by side (dvc queue start -j 2): no BLAS oversubscription

    root = store.repo_root()
    experiment_id = store.experiment(store.TRAIN_EXPERIMENT, root)
    out = Path(args.out_dir)
    committed = variant.committed_section("train")
    changed = variant.changes(section, committed)
    name = f"L{len(arch.filters)}-{'x'.join(map(str, arch.filters))}-k{'x'.join(map(str, arch.widths))}"
    r = runs.start_run(experiment_id, variant.run_name(changed, name), "train", root,
                       tags={"namecnn.changed": variant.label(changed) or "nothing"},
                       description=variant.description("train", "train", changed, committed,
                                                       f"Network {name}. {ABOUT}"))
    with runs.run_status() as stop:
        store.log_config(cfg)
        mlflow.log_params({"dense_in": arch.dense_in, "n_train": len(splits["train"]["y"]),
                           "n_val": len(splits["val"]["y"])})
        n = len(arch.filters)
        print(f"train: {n} conv layer{'s' if n > 1 else ''}, filters {list(arch.filters)}, widths "
              f"{list(arch.widths)}, bias {arch.bias}, {cfg['steps']} steps; MLflow run {r.info.run_id}", flush=True)

        def log(step, row):
            mlflow.log_metrics(curve_metrics(row), step=step)

        fit_on, held = held_out(splits["train"], cfg)
        start = time.perf_counter()
        params, histories = members.fit_members(cfg, arch, fit_on, splits["val"], on_eval=log, stop=stop)
        ms_per_step = 1000 * (time.perf_counter() - start) / cfg["steps"]       # evaluations included
        mlflow.log_metric("train/ms_per_step", ms_per_step)
        for i, h in enumerate(histories[1:], 1):                    # member 0's curves were logged as it trained
            for row in h:
                mlflow.log_metrics({f"member{i}/{k}": v for k, v in curve_metrics(row).items()}, step=row["step"])
        described = modelio.model_meta(arch, meta, cfg)
        if held is not None:
            X = data.inputs(held, cfg["boundary"])["X"]
            described["calibration"] = calibration.fit(params, X, held["y"].astype(np.int64), len(meta["classes"]),
                                                       **answers)
            mlflow.log_metric("calibration/temperature", described["calibration"]["temperature"])
        Xv, yv = data.inputs(splits["val"], cfg["boundary"])["X"], splits["val"]["y"]
        T = predict.temperature(described)                                        # as predict and evaluate score
        val_acc = float(np.mean(model.predict_proba(params, Xv, temperature=T).argmax(axis=1) == yv))
        mlflow.log_metric("val/model_acc", val_acc)
        modelio.save(args.model_dir, params, {**described, "val_acc": val_acc})  # no run id: same seed, same file
        history = histories[0]
        fsio.write_csv(out / "history.csv", history)
        plots.save(plots.curves(history), out / "curves.png")
        mlflow.log_artifact(str(out / "curves.png"), "figures")
        info = pyfunc.log_model(args.model_dir, Path(namecnn.__file__).parent)
    version = registry.register(info.model_uri, registry.MODEL)        # only once the run has FINISHED
    registry.describe(registry.MODEL, version, f"{variant.run_name(changed, name)}: validation accuracy "
                                               f"{val_acc:.4f}; run {r.info.run_id}.")
    store.write_run(out / "run.json", r, registered_model=registry.MODEL, version=version,
                    ms_per_step=round(ms_per_step, 3))
    registry.label(version)                              # first model: the champion; an experiment: a challenger
    last = history[-1]
    print(f"train: step {last['step']}  train acc {last['train_acc']:.4f}  val acc {last['val_acc']:.4f}  "
          f"val loss {last['val_loss']:.4f}; model of {cfg['ensemble']} val acc {val_acc:.4f}; registered as "
          f"version {version} of {registry.MODEL}")


def held_out(train_split, cfg):
    """(names to train on, names held out to calibrate on or None): train.calibration of the training names,
    stratified, seeded by train.seed; no validation name is ever among them."""
    if cfg["calibration"] == 0:
        return train_split, None
    return data.inner_split(train_split, cfg["calibration"], cfg["seed"])

if __name__ == "__main__":
    guard(main)
