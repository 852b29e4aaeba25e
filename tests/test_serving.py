"""The trained model behind `mlflow models serve` and the tracking store behind `mlflow server`, over HTTP."""
import json

import pytest

from helpers import free_port, http, mlflow_cli, server


@pytest.mark.slow
def test_champion_model_served_over_http(repo, repro):
    dst, env = repo
    env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{dst / 'mlflow.db'}"}
    port = free_port()
    cmd = [mlflow_cli(), "models", "serve", "-m", "models:/namecnn@champion", "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port)]
    with server(cmd, dst, env, f"http://127.0.0.1:{port}/ping"):
        status, out = http("POST", f"http://127.0.0.1:{port}/invocations", {"inputs": ["cruz", "mcgregor"]})
        code, mixed = http("POST", f"http://127.0.0.1:{port}/invocations", {"inputs": ["cruz", "", "😀", "mcgregor"]})
    assert status == 200 and code == 200                 # a bad name fails its own row, not the request
    rows = out["predictions"]
    assert [r["name"] for r in rows] == ["cruz", "mcgregor"]
    for r in rows:
        p = {k: v for k, v in r.items() if k not in ("name", "language", "probability", "error", "set")}
        assert r["probability"] == max(p.values()) and abs(sum(p.values()) - 1) < 1e-4 and r["error"] == ""
        assert r["set"].split(" | ")[0] == r["language"]            # the prediction set, most probable first
        assert r["language"] in r and r[r["language"]] == r["probability"]
    mixed = mixed["predictions"]
    assert [r["language"] for r in mixed[::3]] == [r["language"] for r in rows]
    for r, name in zip(mixed[1:3], ("", "😀"), strict=True):
        assert r["language"] == "" and f"name {name!r}: nothing left to classify after folding" in r["error"]
        assert r["set"] == ""


@pytest.mark.slow
def test_tracking_server_shows_run_metrics_confusion_and_model(repo, repro):
    dst, env = repo
    run_id = json.loads((dst / "reports/train/run.json").read_text())["run_id"]
    port = free_port()
    cmd = [mlflow_cli(), "server", "--backend-store-uri", f"sqlite:///{dst / 'mlflow.db'}", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    with server(cmd, dst, env, f"http://127.0.0.1:{port}/health"):
        _, exp = http("GET", f"{api}/experiments/get-by-name?experiment_name=namecnn")
        _, runs = http("POST", f"{api}/runs/search", {"experiment_ids": [exp["experiment"]["experiment_id"]]})
        _, run = http("GET", f"{api}/runs/get?run_id={run_id}")
        _, files = http("GET", f"{api}/artifacts/list?run_id={run_id}&path=evaluation")
        _, models = http("POST", f"{api}/logged-models/search",
                         {"experiment_ids": [exp["experiment"]["experiment_id"]]})
        _, alias = http("GET", f"{api}/registered-models/alias?name=namecnn&alias=champion")
    assert run_id in {r["info"]["run_id"] for r in runs["runs"]}
    metrics = {m["key"] for m in run["run"]["data"]["metrics"]}
    assert {"val/acc", "val/final_acc", "unseen/acc"} <= metrics and run["run"]["info"]["status"] == "FINISHED"
    assert {"evaluation/confusion.png", "evaluation/confusion.json"} <= {f["path"] for f in files["files"]}
    assert run_id in {m["info"].get("source_run_id") for m in models["models"]}
    assert alias["model_version"]["name"] == "namecnn" and alias["model_version"]["run_id"]
