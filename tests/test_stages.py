"""The encode and gradcheck stages and the bench command, run as a user runs them."""
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from helpers import ROOT

GRADCHECK = {"seed": 1, "h": 1e-5, "batch": 4, "max_entries": 20, "tolerance": 1e-6,
             "numeric_dtype": "longdouble", "bias_std": 0.01,
             "configs": {"small": {"layers": 2, "filters": [4, 3], "widths": [5, 3], "bias": False, "pool": False,
                                   "dropout": 0.0},
                         "deep": {"layers": 3, "filters": [3], "widths": [3, 2, 2], "bias": True, "pool": False,
                                  "dropout": 0.3},
                         "pooled": {"layers": 2, "filters": [3, 4], "widths": [3, 2], "bias": True, "pool": True,
                                    "dropout": 0.2}}}


def run_gradcheck(tmp_path, encoded, params):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"gradcheck": params}))
    out = tmp_path / "gradcheck_table.json"
    r = subprocess.run([sys.executable, str(ROOT / "stages" / "gradcheck.py"), str(encoded), str(out),
                        str(tmp_path / "gradcheck.json")],
                       cwd=tmp_path, capture_output=True, text=True)
    return r, out


def test_gradcheck_stage_writes_table(tmp_path, encoded):
    r, out = run_gradcheck(tmp_path, encoded, GRADCHECK)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["configs"]["deep"]["filters"] == [3, 3, 3]          # short list repeats its last entry
    rows = report["configs"]["deep"]["params"]
    assert set(rows) == {"F1", "b1", "F2", "b2", "F3", "b3", "W", "b"}
    assert set(report["configs"]["small"]["params"]) == {"F1", "F2", "W", "b"}
    for cfg in report["configs"].values():
        for row in cfg["params"].values():
            assert row["max_rel_error"] < 1e-6 and row["entries"] > 0 and {"mean_abs_diff", "kinks"} <= set(row)
    worst = max(row["max_rel_error"] for cfg in report["configs"].values() for row in cfg["params"].values())
    metric = json.loads((tmp_path / "gradcheck.json").read_text())          # the one DVC metric
    assert metric == {"gc_digits": round(-np.log10(worst), 2)} and metric["gc_digits"] > 6


def test_gradcheck_stage_fails_above_tolerance(tmp_path, encoded):
    r, out = run_gradcheck(tmp_path, encoded, {**GRADCHECK, "tolerance": 1e-30})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: gradient check failed") and "small.F1" in r.stderr


def test_gradcheck_stage_rejects_bad_params(tmp_path, encoded):
    cfg = {"layers": 2, "filters": [4], "widths": [10, 11], "bias": False, "pool": False, "dropout": 0.0}
    bad = {**GRADCHECK, "configs": {"x": cfg}}
    r, _ = run_gradcheck(tmp_path, encoded, bad)
    assert r.returncode == 1 and "gradcheck.configs.x.widths" in r.stderr and r.stderr.count("\n") == 1
    r, _ = run_gradcheck(tmp_path, encoded, {**GRADCHECK, "step": 3})
    assert r.returncode == 1 and "gradcheck.step: unknown key" in r.stderr


def test_bench_json(encoded):
    cmd = [sys.executable, "-m", "namecnn.cli", "bench", "--data", str(encoded), "--filters", "4,4",
           "--widths", "3,3", "--batch", "8", "--steps", "3", "--reference-steps", "1", "--impl", "both", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [x["impl"] for x in out["results"]] == ["fast", "reference"]
    for x in out["results"]:
        assert x["median_ms"] > 0 and x["mean_ms"] > 0 and x["steps"] == (3 if x["impl"] == "fast" else 1)
        assert x["gflops"] == pytest.approx(x["mflop_per_step"] / x["mean_ms"])
    assert out["speedup"] > 1 and out["roofline_gflops"] > 0


def test_bench_times_a_params_section_as_trained(encoded, tmp_path):
    """--network train (the default): the train section's network with its boundary marks, pooling, dropout and
    batch size."""
    from helpers import tiny_train

    section = tiny_train(boundary=True, layers=1, filters=[6], widths=[3], pool=True, dropout=0.5, batch_size=20)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"train": section}))
    cmd = [sys.executable, "-m", "namecnn.cli", "bench", "--data", str(encoded), "--network", "train",
           "--params", str(tmp_path / "params.yaml"), "--steps", "4", "--warmup", "1", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["network"] == {"boundary": True, "filters": [6], "widths": [3], "bias": True, "pool": True,
                              "dropout": 0.5, "weight_decay": 0.0, "batch_size": 20, "sampling": "balanced"}
    assert out["results"][0]["steps"] == 4


def test_bench_rejects_mismatched_layers(encoded):
    cmd = [sys.executable, "-m", "namecnn.cli", "bench", "--data", str(encoded), "--filters", "4,4", "--widths", "3"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1 and "--filters and --widths go together" in r.stderr
