"""Team mode, as the README's Team section tells it: one MLflow server (PostgreSQL backend store, artifacts proxied
to a folder standing for S3), one Optuna study on PostgreSQL, and two clones of the project standing for two
machines, sharing a git remote and a DVC remote."""
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from helpers import ROOT, TINY, free_port, server, sh

sys.path.insert(0, str(ROOT / "benchmarks"))
import byo_names  # noqa: E402

NAMECNN = str(Path(sys.executable).parent / "namecnn")
N_TRIALS = 8


def clone(origin, dst, env, *targets):
    """git clone, then dvc pull (of `targets` only, before anything is built)."""
    sh(["git", "clone", "-q", str(origin), str(dst)], dst.parent, env)
    sh(["dvc", "pull", "-q", *targets], dst, env)
    return dst


def both(cmds, env):
    """Commands started together, one per clone -> their outputs once all have ended (each must succeed)."""
    procs = [subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cwd, cmd in cmds]
    outs = [p.communicate(timeout=900) for p in procs]
    for (cwd, cmd), p, (out, err) in zip(cmds, procs, outs, strict=True):
        assert p.returncode == 0, f"{cmd} in {cwd.name} failed:\n{out[-2000:]}\n{err[-3000:]}"
    return [out for out, _ in outs]


@pytest.mark.slow
def test_two_clones_share_one_server_one_registry_and_one_study(tmp_path, pg):
    start = time.time()
    work = tmp_path / "work"                         # the team's first commit: the project and its names
    work.mkdir()
    env = byo_names.project(work, TINY)
    sh([NAMECNN, "data", "import", str(byo_names.made_up(tmp_path / "names"))], work, env)
    sh(["dvc", "remote", "add", "-d", "team", str(tmp_path / "dvc-remote")], work, env)
    sh(["dvc", "add", "data/raw"], work, env)
    sh(["git", "add", "-A"], work, env)
    sh(["git", "commit", "-qm", "our names"], work, env)
    sh(["dvc", "push", "-q"], work, env)
    origin = tmp_path / "origin.git"
    sh(["git", "clone", "-q", "--bare", str(work), str(origin)], tmp_path, env)

    port, artifacts = free_port(), tmp_path / "artifacts"
    make = ["make", "-s", "server", f"BIN={Path(sys.executable).parent}", "STAMP=", f"BACKEND={pg('mlflow')}",
            f"ARTIFACTS={artifacts}", f"PORT={port}"]
    with server(make, ROOT, env, f"http://127.0.0.1:{port}/health"):
        team = {**env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}",          # a busy shared server: more
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "60", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}   # patience than alone
        a = clone(origin, tmp_path / "a", team, "data/raw.dvc")
        sh(["dvc", "repro"], a, team)                # every stage, into the server; the results go to the remotes
        sh(["git", "add", "-A"], a, team)
        sh(["git", "commit", "-qm", "results"], a, team)
        sh(["dvc", "push", "-q"], a, team)
        sh(["git", "push", "-q", "origin", "main"], a, team)
        b = clone(origin, tmp_path / "b", team)
        exps = both([(c, ["dvc", "exp", "run", "-n", f"from-{c.name}", "-S", f"train.seed={seed}", "evaluate"])
                     for c, seed in ((a, 5), (b, 7))], team)
        for c in (a, b):                             # back to the committed state: the study's name digests it
            sh(["make", "-s", "reset", f"BIN={Path(sys.executable).parent}", "STAMP="], c, team)
        refused = sh([NAMECNN, "search", "--storage", pg("team_optuna"), "--trials-only"], b, team, check=False)
        assert refused.returncode == 1 and "create it once with `namecnn search --create-only`" in refused.stderr
        assert all("Running stage 'train'" in out and "Running stage 'encode'" not in out for out in exps)

        study = pg("team_optuna")
        created = sh([NAMECNN, "search", "--storage", study, "--create-only"], a, team).stdout  # once, first
        both([(c, [NAMECNN, "search", "--storage", study, "--workers", "2", "--n-trials", str(N_TRIALS),
                   "--trials-only"]) for c in (a, b)], team)
        confirmed = sh(["dvc", "exp", "run", "--temp", "-S", f"search.storage={study}", "-S",       # the confirmation,
                        f"search.n_trials={N_TRIALS}", "search"], a, team).stdout          # through the stage
        assert "Running stage 'search'" in confirmed and "Running stage 'train'" not in confirmed
        said = sh([NAMECNN, "predict", "--model-uri", "models:/namecnn@champion", "Gimthorin"], b, team)
        answer = said.stdout + said.stderr
        compared = sh([NAMECNN, "compare", "models:/namecnn/3", "champion"], a, team).stdout
        served = byo_names.served_answer(b, team, ["Bagginsfoot"], tracking_uri=team["MLFLOW_TRACKING_URI"])

        import mlflow

        client = mlflow.MlflowClient(tracking_uri=team["MLFLOW_TRACKING_URI"])
        versions = {int(v.version): v for v in client.search_model_versions("name='namecnn'")}
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000)
        card_paths = {v: {f.path for f in client.list_artifacts(mv.run_id)} for v, mv in versions.items()}
        champion = client.get_model_version_by_alias("namecnn", "champion").version
    minutes = (time.time() - start) / 60

    # one registry: the pipeline's version is the champion, each clone's experiment a challenger that left it there
    assert sorted(versions) == [1, 2, 3]
    assert champion == "1"
    assert {versions[v].tags.get("dvc.exp_name") for v in (2, 3)} == {"from-a", "from-b"}
    assert all(versions[v].tags.get("namecnn.role") == "challenger" for v in (2, 3))
    assert all("model_card.md" in paths for paths in card_paths.values())
    assert any(artifacts.rglob("model_card.md")) and not any(c.joinpath(d).exists() for c in (a, b)
                                                              for d in ("mlruns", "mlartifacts", "mlflow.db"))
    assert {"train", "study", "search"} <= {r.data.tags.get("dvc.stage") for r in runs}     # A's whole pipeline
    # one Optuna study: every trial once, none lost, the default enqueued once, trials from both clones
    names = optuna.get_all_study_names(study)
    assert len(names) == 1 and names[0] in created                         # both clones added to the one study
    s = optuna.load_study(study_name=names[0], storage=study)
    numbers = sorted(t.number for t in s.trials)
    assert numbers == list(range(len(numbers))) and N_TRIALS <= len(numbers) <= N_TRIALS + 3
    assert all(t.state.is_finished() for t in s.trials)
    assert [t.user_attrs.get("enqueued") for t in s.trials].count("train") == 1
    shared = {r.info.run_id for r in runs if r.data.params.get("storage_kind") == "postgresql"}
    by_number = {}
    for r in runs:                            # the trials of the shared study (A's repro searched a journal of its own)
        tags = r.data.tags
        if tags.get("optuna.trial") and "confirm.candidate" not in tags and tags.get("mlflow.parentRunId") in shared:
            by_number.setdefault(int(r.data.tags["optuna.trial"]), []).append(r)
    assert sorted(by_number) == numbers and all(len(v) == 1 for v in by_number.values()), {
        k: [(r.info.run_name, r.data.tags.get("mlflow.parentRunId"), r.data.tags.get("dvc.stage")) for r in v]
        for k, v in by_number.items() if len(v) > 1}
    parents = {r.data.tags.get("mlflow.parentRunId") for rs in by_number.values() for r in rs}
    assert len(parents) == 2                                   # the two clones' searches added trials
    assert "confirmed winner" in confirmed
    assert "version 1" in answer and answer.split(":")[1].split()[0] in {"Dwarvish", "Elvish", "Hobbit"}
    assert compared.startswith("A = from-") and "right only by A" in compared and "right only by B" in compared
    assert served[0]["language"] in {"Dwarvish", "Elvish", "Hobbit"}
    print(f"team test: {minutes:.1f} min")


class Colliding:
    """A client whose first `fails` alias settings hit the server's unique key, as two clients at once do."""

    def __init__(self, fails, message="BAD_REQUEST: (psycopg.errors.UniqueViolation) duplicate key value violates "
                                      "unique constraint \"registered_model_alias_pk\""):
        self.fails, self.message, self.set = fails, message, []

    def set_registered_model_alias(self, name, alias, version):
        import mlflow

        if self.fails:
            self.fails -= 1
            raise mlflow.exceptions.MlflowException(self.message)
        self.set.append((name, alias, version))


def test_an_alias_set_by_two_clients_at_once_is_tried_again():
    from namecnn.tracking import registry

    client = Colliding(2)
    registry.point(client, "challenger", 5)
    assert client.set == [("namecnn", "challenger", "5")]
    with pytest.raises(Exception, match="UniqueViolation"):
        registry.point(Colliding(9), "challenger", 5, tries=3)             # it gives up, saying why
    with pytest.raises(Exception, match="no such model"):
        registry.point(Colliding(1, "no such model"), "challenger", 5)     # other errors are not retried
