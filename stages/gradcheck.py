"""gradcheck stage: analytic vs centred-difference gradients for the configurations in params.yaml."""
import argparse

import numpy as np

from namecnn import config, data, fsio, gradcheck, layers, model
from namecnn.errors import NameCNNError, run

KEYS = ("seed", "h", "batch", "max_entries", "tolerance", "numeric_dtype", "bias_std", "configs")
CONFIG_KEYS = ("layers", "filters", "widths", "bias", "pool", "dropout")


def check_config(name, cfg, meta, rng, p):
    section = f"gradcheck.configs.{name}"
    config.check_keys(cfg, CONFIG_KEYS, section)
    arch = config.resolve_arch(cfg, section, meta)
    dropout = config.number(cfg, "dropout", section, 0, 1, hi_open=True)
    params = model.init_params(arch, rng, np.float64, bias_std=p["bias_std"])
    return arch, params, dropout


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("encoded_dir")
    ap.add_argument("out_json")
    args = ap.parse_args()
    p = config.section("gradcheck", KEYS)
    config.number(p, "h", "gradcheck", 0, lo_open=True)
    config.number(p, "batch", "gradcheck", 1, integer=True)
    config.number(p, "max_entries", "gradcheck", 1, integer=True)
    config.number(p, "tolerance", "gradcheck", 0, lo_open=True)
    config.number(p, "bias_std", "gradcheck", 0)
    numeric_dtype = {"longdouble": np.longdouble, "float64": np.float64}[
        config.choice(p, "numeric_dtype", "gradcheck", ("longdouble", "float64"))]

    splits, meta = data.load(args.encoded_dir)
    X, y = splits["train"]["X"], splits["train"]["y"].astype(np.int64)
    rng = np.random.default_rng(config.number(p, "seed", "gradcheck", integer=True))
    report, failures = {}, []
    for name, cfg in p["configs"].items():
        arch, params, dropout = check_config(name, cfg, meta, rng, p)
        rows = rng.choice(len(X), p["batch"], replace=False)
        mask = layers.dropout_mask(rng, (p["batch"], arch.dense_in), dropout, np.dtype(np.float64)) \
            if dropout > 0 else None
        table = gradcheck.check(params, X[rows], y[rows], rng, mask=mask, h=p["h"],
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
    fsio.write_json(args.out_json, {"h": p["h"], "tolerance": p["tolerance"], "batch": p["batch"],
                                    "numeric_dtype": p["numeric_dtype"], "configs": report})
    if failures:
        raise NameCNNError(f"gradient check failed, max relative error above {p['tolerance']:g}: "
                           + ", ".join(failures))


if __name__ == "__main__":
    run(main)
