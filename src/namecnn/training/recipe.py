"""A train-like section resolved against the data: its per-layer lists to the network's layers, checked to
leave every layer an output position and to fit in memory -> (config, nn.model.Arch). Its keys were checked
by config.check first; nothing trains before this passes."""
import numpy as np

from .. import config, data
from ..errors import NameCNNError
from ..nn.model import Arch
from . import memory

DTYPES = {"float32": np.float32, "float64": np.float64}


def check_arch(filters, widths, n_len, section):
    """Widths must leave at least one output position: sum(k_i - 1) < n_len."""
    if sum(k - 1 for k in widths) >= n_len:
        raise NameCNNError(f"{section}.widths: {list(widths)} shrink a name of n_len={n_len} to nothing "
                           f"(need sum(k_i - 1) < {n_len})")


def resolve_arch(cfg, section, meta):
    """cfg's layers, filters, widths, bias, pool (and boundary, if it has one) -> Arch, per-layer lists resolved
    and checked against the data `meta` (d, n_len; widened by the boundary marks)."""
    if "boundary" in cfg:
        meta = data.view(meta, cfg["boundary"])
    layers = cfg["layers"]
    filters = config.per_layer(cfg["filters"], layers, f"{section}.filters")
    widths = config.per_layer(cfg["widths"], layers, f"{section}.widths")
    check_arch(filters, widths, meta["n_len"], section)
    return Arch(meta["d"], meta["n_len"], meta["n_classes"], filters, widths, cfg["bias"], cfg["pool"])


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
    """Check every key of a train section (ensemble and calibration may be left out: config.TRAIN_DEFAULTS),
    then resolve it against the data -> (config, Arch)."""
    cfg = config.check(cfg, "train", section)
    arch = resolve_arch(cfg, section, meta)
    check_memory(arch, cfg, section)
    return {**cfg, "filters": list(arch.filters), "widths": list(arch.widths), "lr": dict(cfg["lr"])}, arch
