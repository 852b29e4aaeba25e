"""Every params.yaml section's keys and how each is checked, in one table. `config.section(name)` loads a
section and checks it here before any work; what needs more than one key or the data (per-layer lists
against a name's length, the learning-rate mapping, the search space) is checked where it is resolved, and
the table marks those keys `resolved`."""
import math
from functools import partial

import numpy as np

from .errors import NameCNNError
from .sampling import KINDS

DTYPES = {"float32": np.float32, "float64": np.float64}
PRUNERS = ("successive_halving", "hyperband", "median", "none")


def check_keys(cfg, allowed, section):
    if not isinstance(cfg, dict):
        raise NameCNNError(f"{section}: expected a mapping, got {cfg!r}")
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise NameCNNError(f"{section}.{unknown[0]}: unknown key (known: {', '.join(sorted(allowed))})")
    missing = sorted(set(allowed) - set(cfg))
    if missing:
        raise NameCNNError(f"{section}.{missing[0]}: missing")


def number(cfg, key, section, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    """cfg[key] as a number inside the given bounds, else an error naming section.key."""
    v = cfg[key]
    kinds = (int,) if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, kinds):
        raise NameCNNError(f"{section}.{key}: expected {'an integer' if integer else 'a number'}, got {v!r}")
    if not math.isfinite(v):
        raise NameCNNError(f"{section}.{key}: must be a finite number, got {v!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise NameCNNError(f"{section}.{key}: must be {'>' if lo_open else '>='} {lo}, got {v!r}")
    if hi is not None and (v >= hi if hi_open else v > hi):
        raise NameCNNError(f"{section}.{key}: must be {'<' if hi_open else '<='} {hi}, got {v!r}")
    return v


def choice(cfg, key, section, options):
    if cfg[key] not in options:
        raise NameCNNError(f"{section}.{key}: must be one of {', '.join(map(str, options))}, got {cfg[key]!r}")
    return cfg[key]


def boolean(cfg, key, section):
    if not isinstance(cfg[key], bool):
        raise NameCNNError(f"{section}.{key}: expected true or false, got {cfg[key]!r}")
    return cfg[key]


def text(cfg, key, section):
    if not isinstance(cfg[key], str):
        raise NameCNNError(f"{section}.{key}: expected a string, got {cfg[key]!r}")
    return cfg[key]


def mapping(cfg, key, section):
    if not isinstance(cfg[key], dict) or not cfg[key]:
        raise NameCNNError(f"{section}.{key}: expected a non-empty mapping, got {cfg[key]!r}")
    return cfg[key]


def seeds(cfg, key, section):
    v = cfg[key]
    if not isinstance(v, list) or not v or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                   for s in v):
        raise NameCNNError(f"{section}.{key}: expected a non-empty list of integers >= 0, got {v!r}")
    return v


def resolved(cfg, key, section):
    """Checked where it is resolved (config.resolve_arch, config.check_lr, space.check, study.network)."""
    return cfg[key]


def integer(lo=None, hi=None):
    return partial(number, lo=lo, hi=hi, integer=True)


def real(lo=None, hi=None, lo_open=False, hi_open=False):
    return partial(number, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def one_of(*options):
    return partial(choice, options=options)


POSITIVE, FRACTION = real(0, lo_open=True), real(0, 1, hi_open=True)

SECTIONS = {
    "gradcheck": {"seed": integer(0), "h": POSITIVE, "batch": integer(1), "max_entries": integer(1),
                  "tolerance": POSITIVE, "numeric_dtype": one_of("longdouble", "float64"), "bias_std": real(0),
                  "configs": mapping},
    "gradcheck.configs.*": {"layers": resolved, "filters": resolved, "widths": resolved, "bias": boolean,
                            "pool": boolean, "dropout": FRACTION},
    "train": {"seed": integer(0), "boundary": boolean, "layers": resolved, "filters": resolved, "widths": resolved,
              "bias": boolean, "pool": boolean, "bias_std": real(0), "dropout": FRACTION, "weight_decay": real(0),
              "batch_size": integer(1), "steps": integer(1), "momentum": FRACTION, "lr": resolved,
              "sampling": one_of(*KINDS), "logit_adjust": real(0), "shuffle": boolean, "eval_every": integer(1),
              "train_eval_size": integer(1), "dtype": one_of(*DTYPES), "impl": one_of("fast", "reference")},
    "evaluate": {"seed": integer(0), "bootstrap": integer(1), "level": real(0, 1, lo_open=True, hi_open=True)},
    "lr_range": {"network": text, "steps": integer(10), "lr_start": POSITIVE, "lr_end": POSITIVE,
                 "smoothing": FRACTION},
    "bench": {"networks": mapping, "steps": integer(1), "reference_steps": integer(1), "repeats": integer(1)},
    "search": {"sampler": one_of("random", "tpe"), "n_trials": integer(1), "eval_every": integer(1),
               "seed": integer(0), "pruner": one_of(*PRUNERS),
               "min_steps": integer(1), "reduction_factor": integer(2), "inner_fraction": real(0, 0.5, lo_open=True),
               "default": text, "enqueue": resolved, "confirm": mapping, "storage": text, "study_name": text,
               "workers": integer(0), "space": resolved},
    "search.confirm": {"top": integer(0), "seeds": seeds, "min_lead": real(0)},
    "bench.networks": {"study": text, "default": text},
    "baseline": {"ngram": resolved, "C": POSITIVE, "analyzer": one_of("char", "char_wb"), "max_iter": integer(1),
                 "seed": integer(0)},
    "study": {"steps": integer(1), "seeds": seeds, "jobs": integer(0), "base": mapping, "configs": mapping},
}
RULES = {   # checks between keys of one section
    "lr_range": lambda p, s: number(p, "lr_end", s, p["lr_start"], lo_open=True),
    "search": lambda p, s: check(p["confirm"], "search.confirm", f"{s}.confirm"),
    "bench": lambda p, s: check(p["networks"], "bench.networks", f"{s}.networks"),
}


def check(cfg, name, section=None):
    """cfg checked against table entry `name`: exactly its keys, each value by its check; errors name
    `section` (default `name`), e.g. study.configs.t3 for a train-like entry."""
    section = section or name
    table = SECTIONS[name]
    check_keys(cfg, table, section)
    for key, fn in table.items():
        fn(cfg, key, section)
    if name in RULES:
        RULES[name](cfg, section)
    return cfg
