"""params.yaml: read one section, check every key before any work, resolve per-layer lists."""
from pathlib import Path

import numpy as np
import yaml

from . import memory, schema
from .errors import NameCNNError
from .schema import DTYPES, boolean, check_keys, choice, number  # noqa: F401  (the checks, for every module)


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


def load_section(section, path="params.yaml"):
    path = Path(path)
    if not path.is_file():
        raise NameCNNError(f"{path}: not found")
    try:
        params = yaml.load(path.read_text(), Loader=UniqueKeyLoader) or {}
    except yaml.constructor.ConstructorError as e:
        raise NameCNNError(f"{path}:{e.problem_mark.line + 1}: {e.problem}") from None
    except yaml.YAMLError as e:
        raise NameCNNError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if section not in params:
        raise NameCNNError(f"{path}: no '{section}' section")
    return params[section]


def section(name, path="params.yaml"):
    """A params.yaml section, checked against its entry in schema.SECTIONS: exactly its keys, each value."""
    return schema.check(load_section(name, path), name)


def per_layer(value, layers, key):
    """An int or a list, to exactly `layers` entries: a short list repeats its last entry, a long one is cut."""
    values = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, (list, tuple)) or not values:
        raise NameCNNError(f"{key}: expected an integer or a non-empty list of integers, got {value!r}")
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise NameCNNError(f"{key}: entries must be integers >= 1, got {v!r}")
    values = list(values)[:layers]
    return tuple(values + [values[-1]] * (layers - len(values)))


def check_arch(filters, widths, n_len, section):
    """Widths must leave at least one output position: sum(k_i - 1) < n_len."""
    if sum(k - 1 for k in widths) >= n_len:
        raise NameCNNError(f"{section}.widths: {list(widths)} shrink a name of n_len={n_len} to nothing "
                           f"(need sum(k_i - 1) < {n_len})")


def resolve_arch(cfg, section, meta):
    """cfg's layers, filters, widths, bias, pool (and boundary, if it has one) -> model.Arch, per-layer
    lists resolved and checked against the data `meta` (d, n_len; widened by the boundary marks)."""
    from .data import view
    from .model import Arch

    if "boundary" in cfg:
        meta = view(meta, boolean(cfg, "boundary", section))
    layers = number(cfg, "layers", section, 1, integer=True)
    filters = per_layer(cfg["filters"], layers, f"{section}.filters")
    widths = per_layer(cfg["widths"], layers, f"{section}.widths")
    check_arch(filters, widths, meta["n_len"], section)
    return Arch(meta["d"], meta["n_len"], meta["n_classes"], filters, widths, boolean(cfg, "bias", section),
                boolean(cfg, "pool", section))


TRAIN_KEYS = tuple(schema.SECTIONS["train"])
LR_KEYS = {"cyclic": ("kind", "min", "max", "step_size"), "constant": ("kind", "value")}


def check_lr(lr, section):
    if not isinstance(lr, dict) or lr.get("kind") not in LR_KEYS:
        raise NameCNNError(f"{section}.kind: must be one of cyclic, constant, got "
                           f"{lr.get('kind') if isinstance(lr, dict) else lr!r}")
    check_keys(lr, LR_KEYS[lr["kind"]], section)
    if lr["kind"] == "constant":
        number(lr, "value", section, 0, lo_open=True)
    else:
        number(lr, "min", section, 0, lo_open=True)
        number(lr, "max", section, lr["min"])
        number(lr, "step_size", section, 1, integer=True)
    return dict(lr)


def check_memory(arch, cfg, section):
    """Refuse, before any allocation, a network that cannot fit in the memory available, naming the key to lower."""
    have = memory.available()
    itemsize = np.dtype(DTYPES[cfg["dtype"]]).itemsize
    weights, activations = memory.training_bytes(arch, cfg["batch_size"], itemsize)
    if have is None or weights + activations <= have:
        return
    key = f"{section}.batch_size" if sum(memory.training_bytes(arch, 1, itemsize)) <= have else f"{section}.filters"
    raise NameCNNError(f"{key}: this network needs about {(weights + activations) / 2**30:.1f} GiB (weights "
                       f"{weights / 2**30:.1f}, activations {activations / 2**30:.1f}), more than the "
                       f"{have / 2**30:.1f} GiB available; lower {key}")


def train_config(cfg, meta, section="train"):
    """Check every key of a train section -> (resolved config, Arch). Nothing runs before this passes."""
    schema.check(cfg, "train", section)
    arch = resolve_arch(cfg, section, meta)
    check_memory(arch, cfg, section)
    resolved = {**cfg, "filters": list(arch.filters), "widths": list(arch.widths),
                "lr": check_lr(cfg["lr"], f"{section}.lr")}
    return resolved, arch
