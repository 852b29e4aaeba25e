"""train stage: fit the network of params.yaml's `train` section, log the run to MLflow, save the model."""
import argparse
from pathlib import Path

import numpy as np

import namecnn
from namecnn import config, data, fsio, modelio, plots, pyfunc, registry, runs, tracking, train
from namecnn.errors import run
from namecnn.memory import keep_freed_memory



def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("model_dir")
    ap.add_argument("out_dir", help="history.csv, curves.png, run.json")
    args = ap.parse_args()
    splits, meta = data.load(args.encoded_dir)
    cfg, arch = config.train_config(config.load_section("train"), meta)
    keep_freed_memory()

    import mlflow

    root = tracking.repo_root()
    experiment_id = tracking.experiment(tracking.TRAIN_EXPERIMENT, root)
    out = Path(args.out_dir)
    rng = np.random.default_rng(cfg["seed"])
    name = f"L{len(arch.filters)}-{'x'.join(map(str, arch.filters))}-k{'x'.join(map(str, arch.widths))}"
    r = runs.start_run(experiment_id, name, "train", root)
    with runs.run_status() as stop:
        tracking.log_config(cfg)
        mlflow.log_params({"dense_in": arch.dense_in, "n_train": len(splits["train"]["y"]),
                           "n_val": len(splits["val"]["y"])})
        print(f"train: {len(arch.filters)} conv layers, filters {list(arch.filters)}, widths {list(arch.widths)}, "
              f"bias {arch.bias}, {cfg['steps']} steps; MLflow run {r.info.run_id}", flush=True)

        def log(step, row):
            mlflow.log_metrics({k: v for k, v in row.items() if k != "step"}, step=step)

        params, history = train.fit(cfg, arch, splits["train"], splits["val"], rng, on_eval=log, stop=stop)
        modelio.save(args.model_dir, params, modelio.model_meta(arch, meta, cfg))
        fsio.write_csv(out / "history.csv", history)
        plots.save(plots.curves(history), out / "curves.png")
        mlflow.log_artifact(str(out / "curves.png"), "figures")
        info = pyfunc.log_model(args.model_dir, Path(namecnn.__file__).parent)
    version = registry.register(info.model_uri, registry.MODEL)        # only once the run has FINISHED
    tracking.write_run(out / "run.json", r, tracking.tracking_uri(root), registered_model=registry.MODEL,
                       version=version)
    last = history[-1]
    print(f"train: step {last['step']}  train acc {last['train_acc']:.4f}  val acc {last['val_acc']:.4f}  "
          f"val loss {last['val_loss']:.4f}; registered as version {version} of {registry.MODEL}")

if __name__ == "__main__":
    run(main)
