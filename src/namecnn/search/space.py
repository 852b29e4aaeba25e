"""The search space of params.yaml's `search.space`: each dimension fixed, ranged or a list of choices.

A dimension is a scalar (fixed), a list (categorical choices), or a mapping {low, high[, step][, log]}
(an int range when low, high and step are integers, else a float range). The space is conditional:
`layers` is drawn first, then filters_i and widths_i for each of its layers. With `deep`, the conditioning goes
further: a one-layer network draws from `filters` and `widths`, a deeper one of L layers draws layer i from
deep.filters[i] and deep.widths[i] (narrower layers, so a deep step costs about a wide shallow one) under names of
its own, filters_i_of_L: the sampler models each depth apart.
"""
import optuna

from .. import config
from ..errors import NameCNNError
from ..training import bench, recipe

KEYS = ("boundary", "layers", "filters", "widths", "pool", "lr", "dropout", "weight_decay", "batch_size", "sampling",
        "logit_adjust")
OPTIONAL = ("deep",)
DRAWN = ("boundary", "pool", "dropout", "weight_decay", "batch_size", "sampling", "logit_adjust")


class Impossible(optuna.TrialPruned):
    """A drawn architecture that cannot exist (widths too long for n_len): the trial is pruned at once."""


def check_dim(spec, key):
    if isinstance(spec, list):
        if not spec:
            raise NameCNNError(f"{key}: an empty list of choices")
    elif isinstance(spec, dict):
        config.check_keys({k: v for k, v in spec.items() if k in ("low", "high")},
                          ("low", "high"), key)
        unknown = set(spec) - {"low", "high", "step", "log"}
        if unknown:
            raise NameCNNError(f"{key}.{sorted(unknown)[0]}: unknown key (known: high, log, low, step)")
        config.number(spec, "low", key)
        config.number(spec, "high", key, spec["low"])
        if spec.get("log") and spec["low"] <= 0:
            raise NameCNNError(f"{key}.low: must be > 0 for a log range, got {spec['low']!r}")
    elif not isinstance(spec, (bool, int, float)):
        raise NameCNNError(f"{key}: expected a number, a list of choices or {{low, high}}, got {spec!r}")


def ends(spec):
    """The values a dimension can take at its ends: its fixed value, every choice, or a range's low and high."""
    if isinstance(spec, list):
        return spec
    return [spec["low"], spec["high"]] if isinstance(spec, dict) else [spec]


PER_LAYER = config.integer(1)      # filters_i, widths_i and layers: whole numbers >= 1


def check(space, section="search.space"):
    """Every dimension's form, then every value it can take against the train section's own check (the search
    never draws a value `dvc repro train` would refuse), each error naming search.space.<key>."""
    config.check_keys({k: v for k, v in space.items() if k not in OPTIONAL}, KEYS, section)
    if "deep" in space:
        check_deep(space["deep"], f"{section}.deep")
    for key in KEYS:
        if key == "lr":
            lr = space["lr"]
            if not isinstance(lr, dict) or lr.get("kind") not in config.LR_KEYS:
                raise NameCNNError(f"{section}.lr.kind: must be one of cyclic, constant")
            config.check_keys(lr, config.LR_KEYS[lr["kind"]], f"{section}.lr")
            for k in config.LR_KEYS[lr["kind"]][1:]:
                check_dim(lr[k], f"{section}.lr.{k}")
                for v in ends(lr[k]):
                    config.number({k: v}, k, f"{section}.lr", 0, lo_open=True, integer=k == "step_size")
        else:
            check_dim(space[key], f"{section}.{key}")
            fn = PER_LAYER if key in ("layers", "filters", "widths") else config.SECTIONS["train"][key]
            for v in ends(space[key]):
                fn({key: v}, key, section)


def check_deep(deep, section):
    """deep: {filters: [dim, …], widths: [dim, …]}, one dimension a layer (a shorter list repeats its last)."""
    config.check_keys(deep, ("filters", "widths"), section)
    for key in ("filters", "widths"):
        if not isinstance(deep[key], list) or not deep[key]:
            raise NameCNNError(f"{section}.{key}: expected a list of one dimension a layer, got {deep[key]!r}")
        for i, spec in enumerate(deep[key]):
            check_dim(spec, f"{section}.{key}[{i}]")
            for v in ends(spec):
                PER_LAYER({key: v}, key, f"{section}.{key}[{i}]")


def layer_dims(space, layers):
    """[(param name, key, spec)] of each layer's filters and widths in a network of `layers` layers."""
    if layers == 1 or "deep" not in space:
        return [(f"{key}_{i}", key, space[key]) for key in ("filters", "widths") for i in range(1, layers + 1)]
    deep = space["deep"]
    return [(f"{key}_{i}_of_{layers}", key, deep[key][min(i, len(deep[key])) - 1])
            for key in ("filters", "widths") for i in range(1, layers + 1)]


def suggest(trial, name, spec):
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    if not isinstance(spec, dict):
        return spec
    lo, hi, step, log = spec["low"], spec["high"], spec.get("step"), bool(spec.get("log", False))
    if all(isinstance(v, int) for v in (lo, hi, step or 1)):
        return trial.suggest_int(name, lo, hi, step=step or 1, log=log)
    return trial.suggest_float(name, float(lo), float(hi), step=step, log=log)


def sample(trial, space, base, meta):
    """A full train config for this trial: base (the train section) with the space's draws.
    Raises Impossible for widths that do not fit n_len."""
    layers = suggest(trial, "layers", space["layers"])
    drawn = {name: (key, suggest(trial, name, spec)) for name, key, spec in layer_dims(space, layers)}
    filters, widths = ([v for k, v in drawn.values() if k == key] for key in ("filters", "widths"))
    try:
        recipe.check_arch(filters, widths, meta["n_len"], "search trial")
    except NameCNNError as e:
        raise Impossible(str(e)) from None
    lr = {"kind": space["lr"]["kind"]}
    for k in config.LR_KEYS[lr["kind"]][1:]:
        lr[k] = suggest(trial, f"lr.{k}", space["lr"][k])
    if lr["kind"] == "cyclic" and lr["min"] > lr["max"]:
        lr["min"], lr["max"] = lr["max"], lr["min"]
    cfg = {**base, "layers": layers, "filters": filters, "widths": widths, "lr": lr,
           **{k: suggest(trial, k, space[k]) for k in DRAWN}}
    return recipe.train_config(cfg, meta, section="search trial")


def check_cost(cfg, arch, max_mflop):
    """A training step's arithmetic in MFLOP (bench.step_flops), rounded; Impossible above `max_mflop` (the
    search's per-trial budget: such a trial could not finish its steps within the search's wall time)."""
    mflop = round(bench.step_flops(arch, cfg["batch_size"]) / 1e6, 1)
    if mflop > max_mflop:
        raise Impossible(f"{mflop:g} MFLOP a step, over search.max_mflop_per_step = {max_mflop:g}")
    return mflop


def exp_command(cfg, space, base=None):
    """The `dvc exp run -S …` command that trains this configuration with the train section's other settings
    (the lr kind and any fixed dimension as params.yaml has them; an ensemble size that differs from base's)."""
    sets = [f"train.layers={cfg['layers']}", f"'train.filters={cfg['filters']}'".replace(" ", ""),
            f"'train.widths={cfg['widths']}'".replace(" ", "")]
    sets += [f"train.lr.{k}={cfg['lr'][k]:.4g}" for k in config.LR_KEYS[cfg["lr"]["kind"]][1:]
             if not isinstance(space["lr"][k], (int, float))]
    sets += [f"train.{k}={cfg[k]:.4g}" if isinstance(cfg[k], float) else f"train.{k}={str(cfg[k]).lower()}"
             for k in DRAWN if not isinstance(space[k], (bool, int, float))]
    if base is not None and cfg.get("ensemble", 1) != base.get("ensemble", 1):
        sets.append(f"train.ensemble={cfg['ensemble']}")
    return "dvc exp run " + " ".join(f"-S {s}" for s in sets)


def as_params(cfg, space, where):
    """The trial parameters under which `sample` gives back train config `cfg` (to enqueue it): one per drawn
    dimension. A fixed dimension must equal cfg's value and a drawn one must contain it, else the enqueued
    trial would not be cfg: a NameCNNError naming the key."""
    if cfg["lr"]["kind"] != space["lr"]["kind"]:
        raise NameCNNError(f"{where}: lr.kind {cfg['lr']['kind']} is not the search space's {space['lr']['kind']}")
    values = {k: (k, space[k], cfg[k]) for k in ("layers", *DRAWN)}
    values.update({f"lr.{k}": (f"lr.{k}", space["lr"][k], cfg["lr"][k])
                   for k in config.LR_KEYS[cfg["lr"]["kind"]][1:]})
    layer = {"filters": iter(cfg["filters"]), "widths": iter(cfg["widths"])}
    values.update({name: (key if name.count("_") == 1 else f"deep.{key}", spec, next(layer[key]))
                   for name, key, spec in layer_dims(space, cfg["layers"])})
    params = {}
    for name, (key, spec, value) in values.items():
        if isinstance(spec, list):
            ok = value in spec
        elif isinstance(spec, dict):
            ok = spec["low"] <= value <= spec["high"]
        else:
            ok = value == spec
        if not ok:
            raise NameCNNError(f"{where}: {name} = {value!r} is outside search.space.{key} ({spec!r})")
        if isinstance(spec, (list, dict)):
            params[name] = value
    return params
