"""gradcheck stage: analytic vs centred-difference gradients for the configurations in params.yaml."""
import argparse

import numpy as np

from namecnn import config, data, fsio
from namecnn.errors import NameCNNError, guard
from namecnn.nn import gradcheck, layers, model
from namecnn.training import recipe

NUMERIC = {"longdouble": np.longdouble, "float64": np.float64}


def network(name, cfg, meta, rng, bias_std):
    """(Arch, float64 params, dropout) of configuration `name`, checked against params and data."""
    section = f"gradcheck.configs.{name}"
    config.check(cfg, "gradcheck.configs.*", section)
    arch = recipe.resolve_arch(cfg, section, meta)
    return arch, model.init_params(arch, rng, np.float64, bias_std=bias_std), cfg["dropout"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("table_json", help="every configuration's per-parameter errors")
    ap.add_argument("metric_json", help="-log10 of the largest relative error (digits that agree): one DVC metric")
    args = ap.parse_args()
    p = config.section("gradcheck")
    numeric_dtype = NUMERIC[p["numeric_dtype"]]

    splits, meta = data.load(args.encoded_dir)
    X, y = splits["train"]["X"], splits["train"]["y"].astype(np.int64)
    rng = np.random.default_rng(p["seed"])
    report, failures = {}, []
    for name, cfg in p["configs"].items():
        arch, weights, dropout = network(name, cfg, meta, rng, p["bias_std"])
        rows = rng.choice(len(X), p["batch"], replace=False)
        mask = layers.dropout_mask(rng, (p["batch"], arch.dense_in), dropout, np.dtype(np.float64)) \
            if dropout > 0 else None
        table = gradcheck.check(weights, X[rows], y[rows], rng, mask=mask, h=p["h"],
                                max_entries=p["max_entries"], numeric_dtype=numeric_dtype)
        report[name] = {"filters": list(arch.filters), "widths": list(arch.widths), "bias": arch.bias,
                        "pool": arch.pool, "dropout": dropout, "params": table}
        print(f"{name}: filters {list(arch.filters)} widths {list(arch.widths)} bias {arch.bias} pool {arch.pool} "
              f"dropout {dropout}")
        for key, row in table.items():
            print(f"  {key:<3} max rel {row['max_rel_error']:.2e}  mean |diff| {row['mean_abs_diff']:.2e}"
                  f"  entries {row['entries']}  kinks {row['kinks']}")
            if row["max_rel_error"] > p["tolerance"]:
                failures.append(f"{name}.{key} ({row['max_rel_error']:.2e})")
    worst = max(row["max_rel_error"] for c in report.values() for row in c["params"].values())
    fsio.write_json(args.metric_json, {"gc_digits": round(-np.log10(max(worst, 1e-300)), 2)})  # digits that agree
    fsio.write_json(args.table_json, {"h": p["h"], "tolerance": p["tolerance"], "batch": p["batch"],
                                    "numeric_dtype": p["numeric_dtype"], "configs": report})
    if failures:
        raise NameCNNError(f"gradient check failed, max relative error above {p['tolerance']:g}: "
                           + ", ".join(failures))


if __name__ == "__main__":
    guard(main)
