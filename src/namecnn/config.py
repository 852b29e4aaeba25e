"""params.yaml: read one section and check every key of it before any work, in one table (SECTIONS).

What needs the data as well (per-layer widths against a name's length, the memory a network needs) is checked
when a train-like section is resolved against it (training/recipe.py); the search space, against the train
table, in search/space.py.
"""
import math
from functools import partial
from pathlib import Path

import yaml

from .errors import NameCNNError

DTYPES, SAMPLING = ("float32", "float64"), ("balanced", "sqrt", "natural")
PRUNERS = ("successive_halving", "hyperband", "median", "none")
TRAIN_DEFAULTS = {"ensemble": 1, "calibration": 0.0}     # a train-like section without them: one network, all names
LR_KEYS = {"cyclic": ("kind", "min", "max", "step_size"), "constant": ("kind", "value")}


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error (the file's line), not the last wins."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (first on line {seen[key]})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def load_section(name, path="params.yaml"):
    """Section `name` of params.yaml as written, unchecked."""
    path = Path(path)
    if not path.is_file():
        raise NameCNNError(f"{path}: not found")
    try:
        params = yaml.load(path.read_text(), Loader=UniqueKeyLoader) or {}
    except yaml.constructor.ConstructorError as e:
        raise NameCNNError(f"{path}:{e.problem_mark.line + 1}: {e.problem}") from None
    except yaml.YAMLError as e:
        raise NameCNNError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if name not in params:
        raise NameCNNError(f"{path}: no '{name}' section")
    return params[name]


def section(name, path="params.yaml"):
    """Section `name` of params.yaml, checked against SECTIONS[name]: exactly its keys, each value."""
    return check(load_section(name, path), name)


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


def text(cfg, key, section, empty=False):
    if not isinstance(cfg[key], str) or not (cfg[key] or empty):
        raise NameCNNError(f"{section}.{key}: expected a {'' if empty else 'non-empty '}string, got {cfg[key]!r}")
    return cfg[key]


def mapping(cfg, key, section):
    if not isinstance(cfg[key], dict) or not cfg[key]:
        raise NameCNNError(f"{section}.{key}: expected a non-empty mapping, got {cfg[key]!r}")
    return cfg[key]


def seeds(cfg, key, section):
    """A non-empty list of distinct integers >= 0: a seed given twice would count one training twice."""
    v = cfg[key]
    if not isinstance(v, list) or not v or not all(type(s) is int and s >= 0 for s in v):
        raise NameCNNError(f"{section}.{key}: expected a non-empty list of integers >= 0, got {v!r}")
    twice = sorted({s for s in v if v.count(s) > 1})
    if twice:
        raise NameCNNError(f"{section}.{key}: seed {twice[0]} given twice; each seed must be distinct")
    return v


def per_layer(value, layers, key):
    """An int or a list, to exactly `layers` entries: a short list repeats its last entry. A list longer than
    `layers` is an error: entries nothing uses would read as if they did."""
    values = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, (list, tuple)) or not values:
        raise NameCNNError(f"{key}: expected an integer or a non-empty list of integers, got {value!r}")
    for v in (v for v in values if type(v) is not int or v < 1):
        raise NameCNNError(f"{key}: entries must be integers >= 1, got {v!r}")
    if len(values) > layers:
        raise NameCNNError(f"{key}: {len(values)} entries for {layers} layer(s); give at most one a layer")
    return tuple(list(values) + [values[-1]] * (layers - len(values)))


def lr(cfg, key, section):
    """The learning-rate mapping: {kind: cyclic, min, max, step_size} or {kind: constant, value}."""
    lr, where = cfg[key], f"{section}.{key}"
    if not isinstance(lr, dict) or lr.get("kind") not in LR_KEYS:
        raise NameCNNError(f"{where}.kind: must be one of cyclic, constant, got "
                           f"{lr.get('kind') if isinstance(lr, dict) else lr!r}")
    check_keys(lr, LR_KEYS[lr["kind"]], where)
    if lr["kind"] == "constant":
        number(lr, "value", where, 0, lo_open=True)
    else:
        number(lr, "min", where, 0, lo_open=True)
        number(lr, "max", where, lr["min"])
        number(lr, "step_size", where, 1, integer=True)
    return lr


def resolved(cfg, key, section):
    """Checked elsewhere, where it is resolved: study.configs entries and the search space (named in RULES)."""
    return cfg[key]


def integer(lo=None, hi=None):
    return partial(number, lo=lo, hi=hi, integer=True)


def real(lo=None, hi=None, lo_open=False, hi_open=False):
    return partial(number, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def one_of(*options):
    return partial(choice, options=options)


def layered(p, s):
    """layers, then filters and widths as per-layer lists of it."""
    layers = number(p, "layers", s, 1, integer=True)
    for key in ("filters", "widths"):
        per_layer(p[key], layers, f"{s}.{key}")


POSITIVE, FRACTION, OPEN = real(0, lo_open=True), real(0, 1, hi_open=True), real(0, 1, lo_open=True, hi_open=True)
NETWORK = {"layers": resolved, "filters": resolved, "widths": resolved, "bias": boolean, "pool": boolean}

SECTIONS = {
    "gradcheck": {"seed": integer(0), "h": POSITIVE, "batch": integer(1), "max_entries": integer(1),
                  "tolerance": POSITIVE, "numeric_dtype": one_of("longdouble", "float64"), "bias_std": real(0),
                  "configs": mapping},
    "gradcheck.configs.*": {**NETWORK, "dropout": FRACTION},
    "train": {"seed": integer(0), "boundary": boolean, **NETWORK, "bias_std": real(0), "dropout": FRACTION,
              "weight_decay": real(0), "batch_size": integer(1), "steps": integer(1), "momentum": FRACTION,
              "lr": lr, "sampling": one_of(*SAMPLING), "logit_adjust": real(0), "shuffle": boolean,
              "eval_every": integer(1), "train_eval_size": integer(1), "dtype": one_of(*DTYPES),
              "impl": one_of("fast", "reference"), "ensemble": integer(1), "calibration": real(0, 0.5, hi_open=True)},
    "external": {"seed": integer(0), "per_language": integer(2), "min_names": integer(2), "dev_fraction": FRACTION},
    "predict": {"coverage": OPEN, "method": one_of("lac", "aps"),
                "prior": one_of("balanced", "training")},
    "evaluate": {"seed": integer(0), "bootstrap": integer(1), "level": OPEN, "promote_p": OPEN},
    "lr_range": {"seed": integer(0), "steps": integer(10), "lr_start": POSITIVE, "lr_end": POSITIVE,
                 "smoothing": FRACTION},
    "bench": {"study_network": text, "steps": integer(1), "reference_steps": integer(1), "repeats": integer(1)},
    "search": {"sampler": one_of("random", "tpe"), "n_trials": integer(1), "eval_every": integer(1),
               "seed": integer(0), "pruner": one_of(*PRUNERS), "min_steps": integer(1),
               "reduction_factor": integer(2), "inner_fraction": real(0, 0.5, lo_open=True), "enqueue": resolved,
               "confirm": mapping, "storage": partial(text, empty=True), "study_name": text, "workers": integer(0),
               "space": resolved, "stratify": resolved, "max_mflop_per_step": real(0, lo_open=True)},
    "search.confirm": {"top": integer(0), "seeds": seeds, "min_lead": real(0), "ensemble": integer(0)},
    "baseline": {"ngram": resolved, "C": POSITIVE, "analyzer": one_of("char", "char_wb"), "max_iter": integer(1),
                 "seed": integer(0)},
    "study": {"steps": integer(1), "seeds": seeds, "jobs": integer(0), "base": mapping, "configs": mapping},
}
RULES = {   # checks between keys of one section, or of a mapping inside it
    "gradcheck.configs.*": layered,
    "train": layered,
    "lr_range": lambda p, s: number(p, "lr_end", s, p["lr_start"], lo_open=True),
    "search": lambda p, s: check(p["confirm"], "search.confirm", f"{s}.confirm"),
    "baseline": lambda p, s: per_layer(p["ngram"], 2, f"{s}.ngram"),
}


def check(cfg, name, section=None):
    """cfg checked against table entry `name`: exactly its keys, each value by its check, then its rule; errors
    name `section` (default `name`), e.g. study.configs.t3 for a train-like entry."""
    section = section or name
    cfg = {**TRAIN_DEFAULTS, **cfg} if name == "train" and isinstance(cfg, dict) else cfg
    table = SECTIONS[name]
    check_keys(cfg, table, section)
    for key, fn in table.items():
        fn(cfg, key, section)
    if name in RULES:
        RULES[name](cfg, section)
    return cfg
