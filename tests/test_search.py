"""The Optuna search: conditional space, impossible and diverging trials, resume, workers sharing a study."""
import json
import subprocess
import sys

import numpy as np
import optuna
import pytest

from helpers import tiny_train
from namecnn import data
from namecnn.errors import NameCNNError
from namecnn.search import confirm, optuna_study, pool, space, trials
from namecnn.search import run as search
from namecnn.tracking import store as tracking
from namecnn.tracking import tracked
from namecnn.training import recipe

META = {"d": 29, "n_len": 19, "n_classes": 18}
TRAIN = tiny_train(steps=100, lr={"kind": "cyclic", "min": 0.002, "max": 0.05, "step_size": 30}, eval_every=50,
                   train_eval_size=200, dtype="float32")
SPACE = {"boundary": False, "layers": {"low": 1, "high": 3}, "filters": {"low": 4, "high": 8, "step": 2},
         "widths": {"low": 2, "high": 7},
         "pool": [False, True],
         "lr": {"kind": "cyclic", "min": {"low": 1e-3, "high": 1e-2, "log": True},
                "max": {"low": 1e-2, "high": 0.3, "log": True}, "step_size": 30},
         "dropout": 0.0, "weight_decay": 0.0, "batch_size": 50, "sampling": ["balanced", "sqrt"],
         "logit_adjust": {"low": 0.0, "high": 1.0, "step": 0.5}}


def params(**over):
    return {"sampler": "random", "n_trials": 4, "eval_every": 30, "seed": 0, "pruner": "none", "min_steps": 30,
            "reduction_factor": 3, "inner_fraction": 0.15, "enqueue": [],
            "confirm": {"top": 1, "seeds": [1], "min_lead": 0.0, "ensemble": 0}, "storage": "", "study_name": "t",
            "workers": 1,
            "space": SPACE, "stratify": [], "max_mflop_per_step": 1000.0, **over}


def test_space_is_conditional_on_layers():
    for layers in (1, 2, 3):
        fixed = {"layers": layers, "lr.min": 0.002, "lr.max": 0.05, "pool": True, "sampling": "sqrt",
                 "logit_adjust": 0.5}
        fixed.update({f"{p}_{i}": v for i in range(1, layers + 1) for p, v in (("filters", 6), ("widths", 3))})
        cfg, arch = space.sample(optuna.trial.FixedTrial(fixed), SPACE, TRAIN, META)
        assert arch.filters == (6,) * layers and cfg["widths"] == [3] * layers
        assert cfg["sampling"] == "sqrt" and cfg["logit_adjust"] == 0.5
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        try:
            cfg, _ = space.sample(trial, SPACE, TRAIN, META)
        except space.Impossible:
            continue
        names = {k for k in trial.params if k.startswith(("filters_", "widths_"))}
        assert names == {f"{p}_{i}" for p in ("filters", "widths") for i in range(1, cfg["layers"] + 1)}


DEEP = {**SPACE, "layers": [1, 2, 3], "deep": {"filters": [{"low": 2, "high": 4}, {"low": 5, "high": 6}],
                                              "widths": [{"low": 3, "high": 5}, 2]}}


def test_a_deep_space_draws_each_layer_of_a_depth_from_its_own_range_under_its_own_names():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        cfg, _ = space.sample(trial, DEEP, TRAIN, META)
        L = cfg["layers"]
        seen.add(L)
        names = {k for k in trial.params if k.startswith(("filters_", "widths_"))}
        if L == 1:
            assert names == {"filters_1", "widths_1"} and 4 <= cfg["filters"][0] <= 8
            continue
        assert names == {f"filters_{i}_of_{L}" for i in range(1, L + 1)} | {f"widths_1_of_{L}"}   # a fixed one is not
        assert 2 <= cfg["filters"][0] <= 4 and 3 <= cfg["widths"][0] <= 5               # deep layer 1's ranges
        assert all(5 <= f <= 6 for f in cfg["filters"][1:]) and cfg["widths"][1:] == [2] * (L - 1)   # the last repeats
        assert space.as_params(cfg, DEEP, "t") == {k: v for k, v in trial.params.items() if k != "boundary"}
    assert seen == {1, 2, 3}
    with pytest.raises(NameCNNError, match=r"t: filters_2_of_2 = 9 is outside search\.space\.deep\.filters"):
        space.as_params({**TRAIN, "layers": 2, "filters": [3, 9], "widths": [4, 2], "pool": True}, DEEP, "t")
    with pytest.raises(NameCNNError, match=r"search\.space\.deep\.widths\[1\]\.high: must be >= 4"):
        space.check({**DEEP, "deep": {**DEEP["deep"], "widths": [3, {"low": 4, "high": 2}]}})


def test_stratified_depth_takes_the_choices_in_turn_and_the_sampler_draws_the_rest():
    def tpe(seed):
        return optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed, n_startup_trials=2)

    sampler = optuna_study.PerTrialSeed(tpe, 0, ["layers"])
    study = optuna.create_study(sampler=sampler, direction="maximize")
    for _ in range(12):
        trial = study.ask()
        cfg, _ = space.sample(trial, DEEP, TRAIN, META)
        assert cfg["layers"] == [1, 2, 3][trial.number % 3]
        study.tell(trial, 1.0 if cfg["layers"] == 1 else 0.0)      # the sampler would favour one layer
    assert len({t.params["lr.min"] for t in study.trials}) == 12
    with pytest.raises(NameCNNError, match=r"search\.stratify: layers is not a list of choices"):
        search.check(params(stratify=["layers"]))


def test_a_configuration_over_the_step_budget_is_pruned_at_once():
    cfg, arch = recipe.train_config({**TRAIN, "layers": 2, "filters": [64, 64], "widths": [3, 3]}, META, "t")
    cost = space.check_cost(cfg, arch, 1000)
    assert 30 < cost < 1000
    with pytest.raises(space.Impossible, match=r"MFLOP a step, over search\.max_mflop_per_step = 10"):
        space.check_cost(cfg, arch, 10)


def test_impossible_widths_are_pruned_not_crashed():
    fixed = {"layers": 3, "lr.min": 0.002, "lr.max": 0.05, "pool": False, "filters_1": 4, "filters_2": 4,
             "filters_3": 4,
             "widths_1": 7, "widths_2": 7, "widths_3": 7, "sampling": "balanced", "logit_adjust": 0.0}
    with pytest.raises(space.Impossible, match=r"search trial.widths: \[7, 7, 7\] shrink a name of n_len=18"):
        space.sample(optuna.trial.FixedTrial(fixed), SPACE, TRAIN, {**META, "n_len": 18})
    space.sample(optuna.trial.FixedTrial(fixed), SPACE, TRAIN, META)          # 6 + 6 + 6 < 19 fits
    assert issubclass(space.Impossible, optuna.TrialPruned)


def test_bad_search_params_name_the_key():
    with pytest.raises(NameCNNError, match=r"search\.space\.filters\.high: must be >= 4"):
        search.check(params(space={**SPACE, "filters": {"low": 4, "high": 2}}))
    with pytest.raises(NameCNNError, match=r"search\.sampler: must be one of random, tpe"):
        search.check(params(sampler="grid"))
    with pytest.raises(NameCNNError, match=r"search\.space\.momentum: unknown key"):
        search.check(params(space={**SPACE, "momentum": 0.9}))


def test_exp_command_names_the_drawn_dimensions():
    cfg = {"layers": 2, "filters": [50, 70], "widths": [5, 3], "pool": True, "lr": {"kind": "cyclic",
           "min": 0.00123456, "max": 0.05, "step_size": 30}, "dropout": 0.0, "weight_decay": 0.0, "batch_size": 50,
           "sampling": "sqrt", "logit_adjust": 0.5}
    assert space.exp_command(cfg, SPACE) == ("dvc exp run -S train.layers=2 -S 'train.filters=[50,70]' "
                                             "-S 'train.widths=[5,3]' -S train.lr.min=0.001235 -S train.lr.max=0.05 "
                                             "-S train.pool=true -S train.sampling=sqrt -S train.logit_adjust=0.5")


@pytest.fixture
def project(tmp_path, monkeypatch, encoded):
    (tmp_path / ".dvc").mkdir()
    monkeypatch.chdir(tmp_path)
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path, encoded


def mlflow_trials(root, study_name):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name(tracking.SEARCH_EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], f"tags.`optuna.study` = '{study_name}'")
    return {r.data.tags["optuna.trial"]: r for r in runs
            if "optuna.trial" in r.data.tags and "confirm.candidate" not in r.data.tags}


def confirm_runs(root, study_name):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name(tracking.SEARCH_EXPERIMENT)
    return [r for r in client.search_runs([exp.experiment_id], f"tags.`optuna.study` = '{study_name}'")
            if "confirm.candidate" in r.data.tags]


def logged(root, run_id):
    """A run's artifacts (folder/file) and, as "model", a logged model whose source is the run."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    found = {b.path for a in client.list_artifacts(run_id)
             for b in (client.list_artifacts(run_id, a.path) if a.is_dir else [a])}
    run = client.get_run(run_id)
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    models = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list",
                                         filter_string=f"source_run_id = '{run_id}'")
    return found | ({"model"} if models else set())


def states(summary, root):
    study = optuna.load_study(study_name=summary["study_name"], storage=optuna_study.open_storage(
        str(root / ".optuna" / "journal.log")))
    return study


@pytest.mark.slow
def test_diverging_and_impossible_trials_fail_or_prune_and_the_study_goes_on(project):
    root, encoded = project
    sp = {**SPACE, "layers": 4, "widths": [3, 7], "lr": {"kind": "constant", "value": [1e7, 0.05]}}
    default = {**TRAIN, "layers": 4, "widths": [3], "lr": {"kind": "constant", "value": 0.05}}
    s = search.search(params(n_trials=8, space=sp), default, encoded, root / "out")
    study = states(s, root)
    by_state = {st: [t for t in study.trials if t.state.name == st] for st in ("COMPLETE", "PRUNED", "FAIL")}
    assert len(study.trials) == 8 and all(by_state.values())
    assert all("diverged" in t.user_attrs["reason"] for t in by_state["FAIL"])
    assert all(t.params["lr.value"] == 1e7 for t in by_state["FAIL"])
    assert all("shrink a name" in t.user_attrs["reason"] for t in by_state["PRUNED"])
    runs = mlflow_trials(root, s["study_name"])
    for t in study.trials:
        run = runs[str(t.number)]
        assert run.data.tags["optuna.state"] == t.state.name
        assert run.info.status == trials.STATE_STATUS[t.state.name]
    complete = runs[str(by_state["COMPLETE"][0].number)]
    assert "value" in complete.data.metrics and complete.data.params["layers"] == "4"
    for t in study.trials:                    # a complete trial holds its confusion matrix and model, no other
        run_id = runs[str(t.number)].info.run_id
        assert logged(root, run_id) == ({"inner/confusion_matrix.json", "inner/confusion.png", "inner/confusion.json",
                                         "model"}
                                        if t.state.name == "COMPLETE" else set()), t.state
    answer = subprocess.run([sys.executable, "-m", "namecnn.cli", "predict", "--model-uri",
                             f"runs:/{complete.info.run_id}/model", "cruz"], cwd=root, capture_output=True, text=True)
    assert answer.returncode == 0 and f"MLflow run {complete.info.run_id}" in answer.stderr, answer.stderr
    assert answer.stdout.startswith("cruz: ")
    rows = (root / "out" / "trials.csv").read_text().splitlines()
    assert len(rows) == 9 and {"best_params.json", "confirm.json", "history.png", "importances.png",
                               "parallel.png"} <= {
        p.name for p in (root / "out").iterdir()}


@pytest.mark.slow
def test_search_resumes_an_existing_study(project):
    root, encoded = project
    first = search.search(params(n_trials=2), TRAIN, encoded, root / "out")
    before = [(t.number, t.params) for t in states(first, root).trials]
    second = search.search(params(n_trials=4), TRAIN, encoded, root / "out")
    assert second["study_name"] == first["study_name"] and second["trials"] == 4
    assert [(t.number, t.params) for t in states(second, root).trials][:2] == before
    third = search.search(params(n_trials=4, seed=5), TRAIN, encoded, root / "out")
    assert third["study_name"] != first["study_name"] and third["trials"] == 4   # other settings: a new study


class Poisoned(dict):
    """A split that fails on any read: what the validation names are to the search's trials."""

    def __getitem__(self, key):
        raise AssertionError(f"a trial read the validation names ({key})")

    def items(self):
        raise AssertionError("a trial read the validation names")


@pytest.mark.slow
def test_trials_never_read_a_validation_name(project, monkeypatch):
    root, encoded = project
    real = data.load

    def load(path):
        splits, meta = real(path)
        return {**splits, "val": Poisoned(splits["val"])}, meta

    with pytest.raises(AssertionError, match="validation names"):
        load(encoded)[0]["val"]["X"]                                   # the poison works
    monkeypatch.setattr(data, "load", load)
    p = search.check(params(n_trials=3))
    base, _ = recipe.train_config(TRAIN, real(encoded)[1])
    study = optuna_study.open_optuna_study(p, str(root / "j.log"), "poisoned", base["steps"])
    search.warm_start(study, p, base, real(encoded)[1])
    place = tracked.Place("0", str(root), "search")
    ctx = trials.Context(p, base, str(encoded), str(root / "j.log"), "poisoned", place)
    tracking.connect(root)
    pool.optimize(ctx, 1)
    done = optuna_study.open_optuna_study(p, str(root / "j.log"), "poisoned", base["steps"]).trials
    assert [t.state.name for t in done] == ["COMPLETE"] * 3


def test_the_inner_split_is_stratified_and_disjoint(encoded):
    splits, _ = data.load(encoded)
    fit, held = data.inner_split(splits["train"], 0.15, 0)
    both = sorted(zip(list(fit["names"]) + list(held["names"]), list(fit["y"]) + list(held["y"]), strict=True))
    assert both == sorted(zip(splits["train"]["names"], splits["train"]["y"], strict=True))   # a partition
    share = np.bincount(held["y"], minlength=18) / np.bincount(splits["train"]["y"], minlength=18)
    assert np.all(np.abs(share - 0.15) < 0.05)


@pytest.mark.slow
def test_the_default_is_trial_zero_with_its_own_values(project):
    root, encoded = project
    s = search.search(params(n_trials=3, enqueue=[{"filters": [4, 6]}]), TRAIN, encoded, root / "out")
    study = states(s, root)
    first, second = study.trials[0], study.trials[1]
    assert first.user_attrs["enqueued"] == "train"
    assert first.params == {"layers": 2, "filters_1": 8, "filters_2": 8, "widths_1": 5, "widths_2": 3,
                            "lr.min": 0.002, "lr.max": 0.05, "pool": False, "sampling": "balanced",
                            "logit_adjust": 0.0}
    assert second.user_attrs["enqueued"] == "search.enqueue[0]" and second.params["filters_2"] == 6
    run = mlflow_trials(root, s["study_name"])["0"]
    assert run.data.params["filters"] == "[8, 8]" and run.data.params["dropout"] == "0.0"


@pytest.mark.slow
def test_a_default_outside_the_space_is_named(project):
    root, encoded = project
    with pytest.raises(NameCNNError, match=r"train: batch_size = 100 is outside search\.space\.batch_size"):
        search.search(params(), {**TRAIN, "batch_size": 100}, encoded, root / "out")


@pytest.mark.slow
def test_successive_halving_stops_trials_at_its_rungs(project):
    """min_steps 20, reduction factor 3, 180 steps: a trial stops at step 20 or 60, or trains all 180."""
    root, encoded = project
    p = params(n_trials=10, pruner="successive_halving", min_steps=20, eval_every=20,
               confirm={"top": 0, "seeds": [1], "min_lead": 0.0, "ensemble": 0})
    s = search.search(p, {**TRAIN, "steps": 180}, encoded, root / "out")
    study = states(s, root)
    pruned = [t.user_attrs["steps"] for t in study.trials if t.state.name == "PRUNED"]
    complete = [t.user_attrs["steps"] for t in study.trials if t.state.name == "COMPLETE"]
    assert pruned and set(pruned) <= {20, 60} and set(complete) == {180}, (pruned, complete)
    assert s["full_length_trials"] == len(complete) and 0 < s["full_length_share"] < 1
    assert s["first_rung_trials"] == pruned.count(20)


@pytest.mark.slow
def test_confirmation_retrains_each_candidate_with_every_seed(project):
    root, encoded = project
    p = params(n_trials=4, confirm={"top": 1, "seeds": [1, 2], "min_lead": 0.0, "ensemble": 2})
    s = search.search(p, TRAIN, encoded, root / "out")
    confirmed = json.loads((root / "out" / "confirm.json").read_text())
    names = [c["name"] for c in confirmed["candidates"]]
    assert names[0] == "train" and len(names) == 3 and names[1].startswith("trial-") and names[2] == "train-ensemble2"
    ens = confirmed["candidates"][2]
    assert ens["config"]["ensemble"] == 2
    assert ens["config"]["filters"] == confirmed["candidates"][0]["config"]["filters"]
    found = confirm_runs(root, s["study_name"])
    assert sorted((r.data.tags["confirm.candidate"], r.data.tags["confirm.seed"]) for r in found) == sorted(
        (n, str(seed)) for n in names for seed in (1, 2))
    assert {r.info.run_id for r in found} == {x["run_id"] for c in confirmed["candidates"] for x in c["runs"]}
    assert all(r.info.status == "FINISHED" and {"inner_balanced_acc", "val_acc"} <= set(r.data.metrics) for r in found)
    both = {f"{on}/{f}" for on in ("inner", "val")
            for f in ("confusion_matrix.json", "confusion.png", "confusion.json")}
    assert all(logged(root, r.info.run_id) == both | {"model"} for r in found)
    a, b = (r.info.run_id for r in found[:2])                 # on the same validation names: comparable
    compared = subprocess.run([sys.executable, "-m", "namecnn.cli", "compare", a, b], cwd=root, capture_output=True,
                              text=True)
    assert compared.returncode == 0 and "McNemar p" in compared.stdout, compared.stderr
    best = max(confirmed["candidates"], key=lambda c: c["inner_balanced_acc"]["mean"])
    assert confirmed["winner"]["name"] == best["name"] and confirmed["winner"]["val_mean"] == best["val_acc"]["mean"]
    assert s["winner"] == confirmed["winner"]
    if best["name"] == "train-ensemble2":
        assert confirmed["winner"]["command"].endswith("-S train.ensemble=2")


def check_shared_study(summary, storage, root, n, workers=2):
    study = optuna.load_study(study_name=summary["study_name"], storage=optuna_study.open_storage(storage))
    numbers = sorted(t.number for t in study.trials)
    m = len(numbers)                         # MaxTrialsCallback stops each worker after its running trial
    assert n <= m <= n + workers - 1 and numbers == list(range(m))           # every trial once, none lost
    assert all(t.state.is_finished() for t in study.trials)
    assert len({t.user_attrs["worker"] for t in study.trials}) == workers     # both processes added trials
    runs = mlflow_trials(root, summary["study_name"])
    assert set(runs) == {str(i) for i in range(m)}                             # each has its MLflow run
    workers = {r.data.tags.get("mlflow.parentRunId") for r in runs.values()}
    assert len(workers) == 1 and None not in workers                           # all under the one parent run


@pytest.mark.slow
def test_two_workers_share_a_journal_study(project, monkeypatch):
    root, encoded = project
    monkeypatch.setenv("DVC_EXP_NAME", "wide-search")                   # as `dvc exp run` sets it
    s = search.search(params(n_trials=6), TRAIN, encoded, root / "out", workers=2)
    check_shared_study(s, str(root / ".optuna" / "journal.log"), root, 6)
    tagged = [*mlflow_trials(root, s["study_name"]).values(), *confirm_runs(root, s["study_name"])]
    assert tagged and all(r.data.tags.get("dvc.exp_name") == "wide-search" for r in tagged)


@pytest.fixture(scope="module")
def postgres(pg):
    return pg("optuna")


@pytest.mark.slow
def test_two_workers_share_a_postgresql_study(project, postgres):
    root, encoded = project
    s = search.search(params(n_trials=6, storage=postgres), TRAIN, encoded, root / "out", workers=2)
    check_shared_study(s, postgres, root, 6)


def test_run_json_names_the_embedded_store_as_a_user_types_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.connect(tmp_path) == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert tracking.shown_uri(tmp_path) == "sqlite:///mlflow.db"            # though connect exported the path
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.shown_uri(tmp_path) == "http://127.0.0.1:5000"


def test_a_challenger_replaces_the_default_only_beyond_the_seeds_noise():
    def cand(name, inner):
        return {"name": name, "runs": [{"inner_balanced_acc": v} for v in inner],
                "inner_balanced_acc": {"mean": float(np.mean(inner))}}

    default, challenger = cand("default", [0.60, 0.62, 0.64]), cand("t7", [0.63, 0.64, 0.65])
    se = (0.0004 / 3 + 0.0001 / 3) ** 0.5                     # sample variances 4e-4 and 1e-4, three seeds each
    best, lead, got_se, _ = confirm.verdict([default, challenger], 1.0)
    assert best is challenger and lead == pytest.approx(0.02) and got_se == pytest.approx(se)
    assert [confirm.verdict([default, challenger], m)[3] for m in (0.0, 1.0, 1.5, 2.0)] == [True, True, True, False]
    assert confirm.verdict([challenger, default], 0.0)[3] is False                # the default is the best
    assert confirm.verdict([cand("d", [0.60]), cand("c", [0.61])], 5.0)[3] is True   # one seed: any lead
