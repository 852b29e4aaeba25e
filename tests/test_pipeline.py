"""The whole DVC pipeline in a temporary copy of the repository, with tiny settings."""
import csv
import io
import json
import re
import sys
import time

import pytest
import yaml

from helpers import ROOT, sh
from namecnn.training import workers


def ran(output):
    """The stages a dvc repro / exp run output says it ran."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def mlflow_client(dst):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{dst / 'mlflow.db'}")


@pytest.mark.slow
def test_repro_builds_every_output(repo, repro):
    dst, _ = repo
    for path in ("data/encoded/meta.json", "models/model.npz", "models/model.json", "reports/gradcheck.json",
                 "reports/gradcheck_table.json", "reports/study.json", "reports/evaluate/scores.json",
                 "reports/train/history.csv", "reports/metrics.json", "reports/evaluate/confusion.png",
                 "reports/evaluate/confusion.json", "reports/lr_range/suggestion.json", "reports/bench.json",
                 "reports/search/best_params.json", "reports/search/trials.csv", "reports/report.md"):
        assert (dst / path).is_file(), path
    headline = json.loads((dst / "reports/metrics.json").read_text())
    assert set(headline) == {"acc", "acc_lo", "acc_hi", "ext", "ms_step"}   # no champion to compare: the first
    metrics = json.loads((dst / "reports/evaluate/scores.json").read_text())
    assert headline["acc"] == round(metrics["val"]["acc"], 4) and metrics["champion"] is None
    assert 0 < metrics["val"]["acc"] <= 1 and metrics["unseen"]["n"] == 15
    assert metrics["val"]["acc_ci_low"] <= metrics["val"]["acc"] <= metrics["val"]["acc_ci_high"]
    report = (dst / "reports/report.md").read_text()
    run_id = json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    assert run_id in report and f"{metrics['val']['acc']:.4f}" in report and "mashkov" in report
    assert "nothing to compare with" in report and "is `models:/namecnn@champion`: the committed default" in report
    study = json.loads((dst / "reports/study.json").read_text())
    default = json.loads((dst / "reports/study/default_model.json").read_text())
    assert study == {"seed_mean": round(default["mean"]["val_acc"], 4), "seed_sd": round(default["std"]["val_acc"], 4)}
    with open(dst / "reports/evaluate/unseen.csv") as f:
        unseen = {r["name"]: r for r in csv.DictReader(f)}
    assert unseen["yang"]["training_label"] == "Korean" and unseen["waltz"]["training_label"] == "German"
    assert unseen["malek"]["training_label"] == "" and metrics["unseen"]["trained_with_other_label"] == 3
    assert "yang (Korean), farrell (English), cruz (Portuguese)" in report and "at most 12 of 15" in report
    assert metrics["unseen"]["n_new"] == 10 and metrics["unseen"]["conflicting"] == ["yang", "farrell", "cruz"]
    best = json.loads((dst / "reports/search/best_params.json").read_text())
    confirmed = json.loads((dst / "reports/search/confirm.json").read_text())
    assert best["trials"] >= 3 and best["winner"] == confirmed["winner"]
    winner = confirmed["winner"]
    assert f"Winner: **{winner['name']}**, inner {winner['inner_mean']:.4f}" in report
    if confirmed["beats_default"]:
        assert winner["command"].startswith("dvc exp run -S") and winner["command"] in report
    else:
        assert "did not beat the hand-found default" in report
    confusion = json.loads((dst / "reports/evaluate/confusion.json").read_text())
    assert len(confusion) == 216 and {"actual", "predicted"} <= set(confusion[0])


@pytest.mark.slow
def test_mlflow_run_has_metrics_confusion_and_a_loadable_model(repo, repro):
    import mlflow

    dst, _ = repo
    run_id = json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    client = mlflow_client(dst)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["filters"] == "[8, 8]" and run.data.params["lr.kind"] == "cyclic"
    assert [m.step for m in client.get_metric_history(run_id, "val/acc")] == [100, 200]
    assert {"val/final_acc", "val/acc_ci_low", "unseen/acc", "train/final_acc", "train/lr", "train/ms_per_step"} \
        <= set(run.data.metrics)
    assert not any(m.startswith("final_") for m in run.data.metrics)
    assert run.info.run_name == "L2-8x8-k5x3" and run.data.tags["namecnn.changed"] == "nothing"
    assert "the committed `train` section" in run.data.tags["mlflow.note.content"]
    version = client.get_model_version("namecnn", "1")
    assert version.run_id == run_id and run_id in version.description
    assert "champion" in client.get_registered_model("namecnn").description
    assert run.data.tags["data.md5"] == "84360fbf608b880808584b3f93c08edc.dir"
    assert len(run.data.tags["mlflow.source.git.commit"]) == 40
    artifacts = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert {"evaluation/confusion.png", "evaluation/confusion.json"} <= artifacts
    mlflow.set_tracking_uri(f"sqlite:///{dst / 'mlflow.db'}")
    out = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(["cruz", "mcgregor"])
    assert list(out["name"]) == ["cruz", "mcgregor"] and len(out.columns) == 5 + 18   # and set
    assert list(out["error"]) == ["", ""]
    assert abs(out.iloc[0, 5:].sum() - 1) < 1e-5


@pytest.mark.slow
def test_second_repro_runs_nothing(repo, repro):
    dst, env = repo
    out = sh(["dvc", "repro"], dst, env).stdout
    assert "Running stage" not in out and "didn't change" in out
    assert "Data and pipelines are up to date" in sh(["dvc", "status"], dst, env).stdout


@pytest.mark.slow
def test_exp_run_variant_is_its_own_experiment_and_run(repo, repro):
    dst, env = repo
    before = {r.info.run_id for r in mlflow_client(dst).search_runs(["1"])}
    params = (dst / "params.yaml").read_bytes()
    out = sh(["dvc", "exp", "run", "--temp", "-n", "three", "-S", "train.layers=3", "-S", "train.steps=120",
              "evaluate"], dst, env).stdout
    assert ran(out) == {"train", "evaluate"}, out        # a variant costs its training: not the study or the search
    assert (dst / "params.yaml").read_bytes() == params            # --temp: the workspace keeps its params.yaml
    assert "three" in sh(["dvc", "exp", "list", "--name-only"], dst, env).stdout.split()
    rows = list(csv.reader(io.StringIO(sh(["dvc", "exp", "show", "--csv"], dst, env).stdout)))
    header, three = rows[0], next(r for r in rows if r[0] == "three")
    assert three[header.index("train.layers")] == "3" and float(three[header.index("acc")]) > 0
    assert -1 <= float(three[header.index("vs_champ")]) <= 1 and 0 < float(three[header.index("p_champ")]) <= 1
    runs = mlflow_client(dst).search_runs(["1"])
    new = [r for r in runs if r.info.run_id not in before]
    assert len(new) == 1 and new[0].data.params["filters"] == "[8, 8, 8]"
    assert new[0].data.params["widths"] == "[5, 3, 3]" and new[0].data.tags.get("dvc.exp_name") == "three"
    assert new[0].info.run_name == "three: layers=3 steps=120"               # what differs, not the architecture
    assert new[0].data.tags["namecnn.changed"] == "layers=3 steps=120"
    assert "`layers` 2 → 3" in new[0].data.tags["mlflow.note.content"]
    assert "val/vs_champion" in new[0].data.metrics and "val/vs_champion_p_mcnemar" in new[0].data.metrics


@pytest.mark.slow
def test_exp_show_and_metrics_show_fit_120_columns(repo, repro):
    """The README's `make exps` view: the figures that matter, none cut, in a 120-column terminal."""
    dst, env = repo
    sh(["dvc", "exp", "run", "--temp", "-n", "four", "-S", "train.layers=3", "-S", "train.steps=120", "-S",
        "train.dropout=0.1", "-S", "train.weight_decay=0.001", "evaluate"], dst, env)       # four params differ
    make = (ROOT / "Makefile").read_text()
    command = re.search(r"^exps:.*\n\t(.+)$", make, re.M).group(1).replace("$(BIN)/", "").replace("$$", "$")
    out = sh(["bash", "-c", command], dst, {**env, "COLUMNS": "120"}).stdout
    lines = out.splitlines()
    assert max(map(len, lines)) <= 120, out
    header = lines[0].split()
    for column in ("experiment", "acc", "vs_champ", "p", "champ", "ms_step", "layers", "steps", "dropout",
                   "weight_decay"):
        assert column in header, out
    four = next(line for line in lines if "four" in line).split()
    assert set(four[-4:]) == {"3", "120", "0.1", "0.001"} and four[1] != "-" and "…" not in out, out
    shown = sh(["dvc", "metrics", "show"], dst, env).stdout
    assert max(map(len, shown.splitlines())) <= 120 and "gc_digits" in shown and "seed_mean" in shown, shown


@pytest.mark.slow
def test_bad_params_stop_the_stage_naming_the_key(repo, repro):
    dst, env = repo
    r = sh(["dvc", "exp", "run", "--temp", "-S", "train.dropout=1.5", "evaluate"], dst, env, check=False)
    assert r.returncode != 0 and "train.dropout: must be < 1" in r.stdout + r.stderr


@pytest.mark.slow
def test_the_champion_moves_only_when_a_model_is_adopted(repo, repro):
    """Queued variants and a hand-edited `dvc repro` register challengers; the champion stays the committed
    default's model; `namecnn promote` refuses a model that is not significantly better, unless --force."""
    dst, env = repo
    client = mlflow_client(dst)
    committed = str(json.loads((dst / "reports/train/run.json").read_text())["version"])
    assert str(client.get_model_version_by_alias("namecnn", "champion").version) == committed
    for over in ("train.dropout=0.1", "train.filters=[12,12]"):
        sh(["dvc", "exp", "run", "--queue", "-S", over, "-S", "train.steps=150", "evaluate"], dst, env)
    sh(["dvc", "queue", "start", "-j", "2"], dst, env)
    deadline = time.time() + 600
    while re.search(r"Queued|Running", sh(["dvc", "queue", "status"], dst, env).stdout) and time.time() < deadline:
        time.sleep(2)
    try:
        params = yaml.safe_load((dst / "params.yaml").read_text())
        params["train"]["dropout"] = 0.2
        (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        out = sh(["dvc", "repro", "champion"], dst, env).stdout
        assert "is the challenger" in out, out
    finally:
        back_to_the_commit(dst, env)
    versions = client.search_model_versions("name='namecnn'")
    roles = {str(v.version): v.tags.get("namecnn.role") for v in versions}
    assert len(versions) >= 4 and str(client.get_model_version_by_alias("namecnn", "champion").version) == committed
    queued = [v for v in versions if v.tags.get("dvc.exp_name")]
    assert len(queued) >= 2 and all(roles[str(v.version)] == "challenger" for v in queued)

    sh(["dvc", "exp", "run", "--temp", "-n", "same", "-S", "train.eval_every=50", "evaluate"], dst, env)
    promote = [sys.executable, "-m", "namecnn.cli", "promote", "same"]
    r = sh(promote, dst, env, check=False)                  # the same weights: +0.0 points, p = 1
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert re.match(r"error: refused: version \d+ against the champion \(version 1\): \+0\.0 points, 95% paired "
                    r"bootstrap \+0\.0 to \+0\.0, McNemar p = 1;", r.stderr), r.stderr
    assert str(client.get_model_version_by_alias("namecnn", "champion").version) == committed
    try:
        forced = sh([*promote, "--force"], dst, env).stdout
        version = client.get_model_version_by_alias("namecnn", "champion")
        assert str(version.version) != committed and "by force" in version.description and "by force" in forced
    finally:
        client.set_registered_model_alias("namecnn", "champion", committed)


@pytest.mark.slow
def test_the_temperature_and_the_sets_are_fitted_on_held_out_training_names_only(repo, repro):
    """The model's temperature is the one its held-out training names give (every class weighted the same), not
    the one the validation names would give; the evaluate stage reports calibration and sets on the latter."""
    import numpy as np

    from namecnn import data
    from namecnn.nn import model, modelio
    from namecnn.scoring import calibration, conformal

    dst, _ = repo
    splits, meta = data.load(dst / "data/encoded")
    params, mmeta = modelio.load(dst / "models")
    cfg, cal = mmeta["train"], mmeta["calibration"]
    _, held = data.inner_split(splits["train"], cfg["calibration"], cfg["seed"])
    assert cal["names"] == len(held["y"]) and cal["prior"] == "balanced" and len(cal["scores"]) == len(held["y"])
    y = held["y"].astype(np.int64)
    S = model.scores(params, data.inputs(held, cfg["boundary"])["X"])
    assert cal["temperature"] == pytest.approx(calibration.fit_temperature(S, y, conformal.class_weights(y, 18)))
    yv = splits["val"]["y"].astype(np.int64)
    on_val = calibration.fit_temperature(model.scores(params, data.inputs(splits["val"], cfg["boundary"])["X"]), yv)
    assert abs(on_val - cal["temperature"]) > 1e-3
    honest = json.loads((dst / "reports/evaluate/calibration.json").read_text())
    assert honest["temperature"] == cal["temperature"] and honest["calibration_names"] == len(held["y"])
    assert 0 <= honest["sets"]["coverage"] <= 1 and honest["sets"]["mean_size"] >= 1
    assert set(honest["calibrated"]) >= {"nll", "ece", "ece_ci_low", "ece_ci_high", "brier", "ece_floor"}
    assert "## Calibrated probabilities and prediction sets" in (dst / "reports/report.md").read_text()


@pytest.mark.slow
def test_every_stage_ran_and_the_study_ran_in_parallel(repo, repro):
    dst, _ = repo
    assert ran(repro.stdout) == set(yaml.safe_load((dst / "dvc.yaml").read_text())["stages"])
    summary = json.loads((dst / "reports/study/summary.json").read_text())
    assert summary["jobs"] == min(workers.cores(), summary["trainings"]) and summary["trainings"] == 16 * 2


@pytest.mark.slow
def test_parallel_study_equals_sequential(repo, repro, tmp_path):
    """study.jobs: the same accuracies, seed for seed, and one MLflow run per training either way."""
    dst, env = repo
    params = yaml.safe_load(sh(["git", "show", "HEAD:params.yaml"], dst, env).stdout)   # as the repro trained
    params["study"]["jobs"] = 1
    params["study"]["configs"] = {k: params["study"]["configs"][k] for k in ("t3_balanced", "default_model")}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / ".dvc").mkdir()                                   # the project root, so MLflow uses tmp's store
    sh([sys.executable, str(dst / "stages/study.py"), str(dst / "data/encoded"),
        str(dst / "data/raw/celebrity_names.txt"), str(tmp_path / "out"), str(tmp_path / "study.json")], tmp_path, env)
    assert json.loads((tmp_path / "out/summary.json").read_text())["jobs"] == 1
    for name in ("t3_balanced", "default_model"):
        seq = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        par = json.loads((dst / "reports/study" / f"{name}.json").read_text())
        assert [(r["seed"], r["train_acc"], r["val_acc"], r["unseen_acc"]) for r in seq["runs"]] == \
               [(r["seed"], r["train_acc"], r["val_acc"], r["unseen_acc"]) for r in par["runs"]]
        assert seq["ensemble"] == par["ensemble"]
    import mlflow

    for store, n in ((dst, 32), (tmp_path, 4)):
        client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
        runs = client.search_runs([client.get_experiment_by_name("study").experiment_id],
                                  "tags.`dvc.stage` = 'study'")
        assert len(runs) >= n and all(r.info.status == "FINISHED" for r in runs)
    run = runs[0]                                      # a study run holds its confusion matrix and its model
    assert {a.path for a in client.list_artifacts(run.info.run_id, "val")} == {"val/confusion_matrix.json",
                                                                                "val/confusion.png",
                                                                                "val/confusion.json"}
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list",
                                       filter_string=f"source_run_id = '{run.info.run_id}'")


@pytest.mark.slow
def test_an_applied_variant_becomes_the_default_of_the_study_and_the_search(repo, repro):
    """`dvc exp apply` of a train variant, commit, `dvc repro`: the study's default row and the search's trial 0
    and confirmed default retrain with the variant's values, and its model becomes the champion. The workspace
    and the commit are put back afterwards."""
    dst, env = repo
    head = sh(["git", "rev-parse", "HEAD"], dst, env).stdout.strip()
    sh(["dvc", "exp", "run", "--temp", "-n", "drop3", "-S", "train.dropout=0.3", "evaluate"], dst, env)
    try:
        sh(["dvc", "exp", "apply", "drop3"], dst, env)
        sh(["git", "add", "-A"], dst, env)
        sh(["git", "commit", "-qm", "adopt drop3"], dst, env)
        out = sh(["dvc", "repro"], dst, env).stdout
        assert {"study", "search", "lr_range", "bench", "champion", "report"} <= ran(out), out
        assert "train" not in ran(out)                        # applied with its outputs: not trained again
        default = json.loads((dst / "reports/study/default_model.json").read_text())
        assert default["config"]["dropout"] == 0.3 and default["steps"] == 200
        confirmed = json.loads((dst / "reports/search/confirm.json").read_text())
        assert confirmed["candidates"][0]["name"] == "train" and confirmed["candidates"][0]["config"]["dropout"] == 0.3
        trials = list(csv.DictReader(io.StringIO((dst / "reports/search/trials.csv").read_text())))
        assert json.loads(trials[0]["params"])["dropout"] == 0.3
        version = json.loads((dst / "reports/train/run.json").read_text())["version"]
        assert mlflow_client(dst).get_model_version_by_alias("namecnn", "champion").version == version
        assert json.loads((dst / "reports/champion.json").read_text())["role"] == "champion"
    finally:
        sh(["git", "reset", "-q", "--hard", head], dst, env)
        back_to_the_commit(dst, env)
        mlflow_client(dst).set_registered_model_alias("namecnn", "champion", "1")


def back_to_the_commit(dst, env):
    """The workspace as committed, by the Makefile's `reset` recipe as `make reset` runs it (the venv's tools are
    on PATH here): params.yaml, dvc.lock and the reports from git, models/ and the data from DVC's cache."""
    recipe = re.search(r"^reset:.*\n((?:\t.+\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    for line in recipe.splitlines():
        sh(["bash", "-c", line.strip().split("  #")[0].replace("$(BIN)/", "")], dst, env)

