"""report stage: reports/report.md from the other stages' outputs; no number is typed by hand."""
import argparse
import csv
import json
from pathlib import Path

import yaml

from namecnn import fsio, rawdata
from namecnn.errors import guard
from namecnn.reporting import honesty, report
from namecnn.reporting import study_tables as studytables


def read_json(path):
    return json.loads(Path(path).read_text())


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("reports_dir", help="folder of the stage outputs; report.md is written there")
    ap.add_argument("model_dir")
    ap.add_argument("published", help="reference/published.yaml: the study's numbers")
    ap.add_argument("external_summary", help="data/external/summary.json: where the external names come from")
    ap.add_argument("raw_dir", help="data/raw: which edition of the names (the study's tables compare only the DD2424)")
    args = ap.parse_args()
    r = Path(args.reports_dir)
    model_meta = read_json(Path(args.model_dir) / "model.json")
    cfg = model_meta["train"]
    run = read_json(r / "train" / "run.json")
    history = read_csv(r / "train" / "history.csv")
    lr = read_json(r / "lr_range" / "suggestion.json")
    lr_text = (f"cyclic {cfg['lr']['min']:g}–{cfg['lr']['max']:g}, step size {cfg['lr']['step_size']}"
               if cfg["lr"]["kind"] == "cyclic" else f"constant {cfg['lr']['value']:g}")
    pub = yaml.safe_load(Path(args.published).read_text())
    runs = {p.stem: read_json(p) for p in sorted((r / "study").glob("*.json")) if p.stem != "summary"}
    baseline = read_json(r / "baseline.json")
    gc, bench = read_json(r / "gradcheck_table.json"), read_json(r / "bench.json")
    seeds = runs["default_model"]["seeds"]
    data = rawdata.edition(args.raw_dir)
    n_val = sum(int(row["support"]) for row in read_csv(r / "evaluate" / "per_class.csv"))
    study = ["## The study", report.other_data_line(data)] if not data["dd2424"] else [
        "## The study, reproduced", studytables.header(runs, seeds),
        "### Table 1: gradient check (study configuration: 2 layers, no bias)", studytables.gradcheck_table(pub, gc),
        "### Table 2: slow vs efficient computation", studytables.speed_table(pub, bench),
        "### Table 3: balanced vs unbalanced sampling (N1=20 K1=5 N2=20 K2=3, ρ=0.9, η=0.01)",
        studytables.sampling_table(pub, runs),
        "### Tables 4–5: the better model (N1=50 K1=7 N2=50 K2=3, η=0.01)", studytables.search_best_table(pub, runs),
        "### Table 6 (study's 7): with vs without biases", studytables.bias_table(pub, runs),
        "### Table 7 (study's 8): depth", studytables.depth_table(pub, runs),
        "### Table 8: cyclic vs constant learning rate, dropout, shuffling", studytables.variants_table(runs),
        "### Table 9: combined best ([50, 50], [7, 3], batch 100, cyclic 0.001–0.1 step 500)",
        studytables.combined_table(pub, runs),
        "### Unseen (celebrity) names", studytables.unseen_table(pub, runs, read_csv(r / "evaluate" / "unseen.csv")),
        "### Beating the study and a strong baseline", studytables.beat_table(pub, runs, baseline),
        studytables.timing(runs, read_json(r / "study" / "summary.json")),
    ]
    parts = [
        "# namecnn report",
        "Built by `dvc repro` from the stage outputs under `reports/`; rerun it to regenerate. What the model is for, "
        "and not for, with its figures per language: the [model card](model_card.md).",
        "## Gradient check", report.gradcheck_section(gc),
        "## Speed", report.speed_section(bench),
        "## Training",
        f"Network: {report.layers(len(cfg['filters']))}, filters {cfg['filters']}, widths {cfg['widths']}, bias "
        f"{cfg['bias']}, dropout {cfg['dropout']}, weight decay {cfg['weight_decay']}; {cfg['steps']} steps of batch "
        f"{cfg['batch_size']}, momentum {cfg['momentum']}, learning rate {lr_text}, {cfg['sampling']} sampling, "
        f"logit adjustment τ = {cfg['logit_adjust']}, "
        f"shuffle {cfg['shuffle']}, seed {cfg['seed']}, {cfg['dtype']}; {report.members_line(model_meta)}. Last "
        f"evaluation (step {history[-1]['step']}{', member 0' if model_meta.get('members', 1) > 1 else ''}): "
        f"validation accuracy {float(history[-1]['val_acc']):.4f}.",
        "![training curves](train/curves.png)",
        "## Final metrics", report.metrics_section(read_json(r / "evaluate" / "scores.json"), n_val),
        "## Confusion matrix (validation)", "![confusion matrix](evaluate/confusion.png)",
        "## Per-class accuracy (validation)", report.per_class_section(read_csv(r / "evaluate" / "per_class.csv")),
        "## Unseen names", report.unseen_section(read_csv(r / "evaluate" / "unseen.csv")),
        "## Calibrated probabilities and prediction sets",
        honesty.calibration_section(read_json(r / "evaluate" / "calibration.json"), n_val),
        "## Names from outside the training lists",
        honesty.external_section(read_json(r / "evaluate" / "scores.json"), read_json(args.external_summary)),
        "## Learning-rate range test",
        f"Smith's test over {lr['steps_run']} steps with the learning rate growing geometrically suggests "
        f"`lr.min` = {lr['min']:.3g} (smoothed accuracy starts to rise) and `lr.max` = {lr['max']:.3g} (it peaks, "
        f"at {lr['peak_acc']:.3f}).",
        "![LR range test](lr_range/lr_range.png)",
        "## Search", report.search_section(read_json(r / "search" / "best_params.json"),
                                           read_csv(r / "search" / "trials.csv"),
                                           read_json(r / "search" / "confirm.json")),
        *study,
        "## MLflow",
        f"Run `{run['run_id']}` (experiment `{run['experiment_id']}`) in `{run['tracking_uri']}` holds the "
        "parameters, per-step metrics, figures, evaluation artifacts and the model. Open it with "
        "`mlflow ui --backend-store-uri sqlite:///mlflow.db` from the project root.",
        report.served_line(read_json(r / "champion.json")),
    ]
    fsio.write_text(r / "report.md", "\n\n".join(parts) + "\n")
    print(f"report: {r / 'report.md'}")


if __name__ == "__main__":
    guard(main)
