"""The MLflow UI as a person sees it: headless Chromium (Debian's, driven by Playwright) against `mlflow server`
on 127.0.0.1 over the tiny pipeline's store. The screenshots go to $NAMECNN_SCREENSHOTS (docs/ keeps a set)."""
import json
import os
import shutil
from pathlib import Path

import pytest

from test_serving import free_port, mlflow_cli, server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
RUNS = "#/experiments/{id}/runs?workflowType=machine_learning&orderByKey=metrics.%60val%2Ffinal_acc%60&orderByAsc=false"


@pytest.mark.slow
def test_the_ui_opens_on_the_comparison(repo, repro, tmp_path):
    """The README's link opens the namecnn experiment in the model-training view, sorted by validation accuracy;
    one click on Columns shows the accuracy; the registry shows the champion and what each version is."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    dst, env = repo
    shots = Path(os.environ.get("NAMECNN_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    run = json.loads((dst / "reports/train/run.json").read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    cmd = [mlflow_cli(), "server", "--backend-store-uri", f"sqlite:///{dst / 'mlflow.db'}", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    with server(cmd, dst, env, f"{base}health"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})        # a fresh profile
        page.goto(base + RUNS.format(id=run["experiment_id"]), wait_until="load")
        page.get_by_text("L2-8x8-k5x3").first.wait_for(timeout=60_000)            # the runs have loaded
        page.get_by_role("button", name="Columns", exact=True).click()
        assert page.get_by_text("Sort: val/final_acc").is_visible() and page.get_by_text("Training runs").count() == 0
        page.locator('[data-component-id="mlflow.experiment_page.runs_table.column_selector"]').get_by_text(
            "val/final_acc", exact=True).click()
        page.keyboard.press("Escape")
        with_close = page.get_by_role("button", name="Close")
        if with_close.count():
            with_close.first.click()                                              # the assistant's side panel
        page.get_by_role("columnheader", name="val/final_acc").first.wait_for()
        page.screenshot(path=str(shots / "ui-runs.png"))
        assert page.get_by_role("link", name="namecnn").count() or page.get_by_text("v1").count()

        page.goto(base + "#/models/namecnn", wait_until="load")
        page.get_by_text("champion").first.wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shots / "ui-registry.png"))
        text = page.inner_text("body")
        assert "champion" in text and "L2-8x8-k5x3: validation accur" in text       # the list cuts the rest
        browser.close()
    assert (shots / "ui-runs.png").stat().st_size > 10_000
