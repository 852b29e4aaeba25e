"""A trained model on disk: weights (model.npz) and what is needed to use them (model.json).

model.npz also holds the description it was saved with, so an edited or swapped model.json is caught at load,
naming the key that differs, instead of predicting with the wrong alphabet, classes or length.
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from .. import fsio
from ..errors import NameCNNError
from . import model

WEIGHTS, META = "model.npz", "model.json"
SAVED_META = "__model_json__"            # the key of model.npz that holds model.json as saved


def flat(params):
    """One network's params as they are; a seed ensemble's members under m0., m1., … (meta's `members`)."""
    if isinstance(params, list):
        return {f"m{i}.{k}": v for i, p in enumerate(params) for k, v in p.items()}
    return params


def members(flat_params, n):
    """The inverse of `flat` for a model of n members."""
    if n == 1:
        return flat_params
    return [{k.split(".", 1)[1]: v for k, v in flat_params.items() if k.startswith(f"m{i}.")} for i in range(n)]


def save(directory, params, meta):
    """Write both files atomically (each one appears whole or not at all); model.json goes last. A list of
    params is a seed ensemble, saved as one model (meta["members"] says how many)."""
    directory = Path(directory)
    meta = {**meta, "members": len(params) if isinstance(params, list) else 1}
    fsio.write_npz(directory / WEIGHTS, **flat(params), **{SAVED_META: np.array(json.dumps(meta, sort_keys=True))})
    fsio.write_json(directory / META, meta)


def model_meta(arch, data_meta, train_cfg):
    """What predicting needs besides the weights: the architecture, the alphabet (with the boundary mark
    last when the network reads names between marks), the classes, and how it was trained."""
    boundary = data_meta["boundary"] if train_cfg.get("boundary") else None
    return {"arch": {"d": arch.d, "n_len": arch.n_len, "n_classes": arch.n_classes, "filters": list(arch.filters),
                     "widths": list(arch.widths), "bias": arch.bias, "pool": arch.pool},
            "itos": data_meta["itos"] + ([boundary] if boundary else []), "boundary": boundary,
            "classes": data_meta["classes"], "train": train_cfg}


def first_difference(a, b, prefix=""):
    """The first key path where two JSON values differ, e.g. 'arch.n_len'; None when equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{prefix}{k}"
            found = first_difference(a[k], b[k], f"{prefix}{k}.")
            if found:
                return found
        return None
    return None if a == b else prefix.rstrip(".") or "(the whole file)"


def check_meta(meta):
    """model.json's own consistency -> Arch: whole positive integers where the network needs them, and as many
    characters and classes as the weights' d and n_classes."""
    a = meta["arch"]
    n = meta.get("members", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"members must be a positive integer, got {n!r}")
    for key in ("d", "n_len", "n_classes"):
        if not isinstance(a[key], int) or isinstance(a[key], bool) or a[key] < 1:
            raise ValueError(f"arch.{key} must be a positive integer, got {a[key]!r}")
    for key in ("filters", "widths"):
        if not isinstance(a[key], list) or not a[key] or any(
                not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in a[key]):
            raise ValueError(f"arch.{key} must be a list of positive integers, got {a[key]!r}")
    if len(meta["itos"]) != a["d"] or not all(isinstance(c, str) and len(c) == 1 for c in meta["itos"]):
        raise ValueError(f"itos must hold arch.d={a['d']} single characters, it holds {len(meta['itos'])} entries")
    if len(meta["classes"]) != a["n_classes"]:
        raise ValueError(f"classes has {len(meta['classes'])} entries, arch.n_classes is {a['n_classes']}")
    if meta["boundary"] is not None and meta["itos"][-1] != meta["boundary"]:
        raise ValueError(f"boundary {meta['boundary']!r} is not the last character of itos")
    return model.Arch(**{**a, "filters": tuple(a["filters"]), "widths": tuple(a["widths"])})


def shapes(arch):
    """The shape of every parameter of `arch`, as model.init_params makes them (nothing allocated)."""
    out, c_in = {}, arch.d
    for i, (n, k) in enumerate(zip(arch.filters, arch.widths, strict=True), 1):
        out[f"F{i}"] = (n, c_in, k)
        if arch.bias:
            out[f"b{i}"] = (n,)
        c_in = n
    return {**out, "W": (arch.dense_in, arch.n_classes), "b": (arch.n_classes,)}


def load(directory):
    """-> (params, meta); a missing, corrupt or mismatched file is a one-line NameCNNError naming it."""
    directory = Path(directory)
    weights, meta_path = directory / WEIGHTS, directory / META
    for path in (meta_path, weights):
        if not path.is_file():
            raise NameCNNError(f"{path}: model file not found; `dvc checkout {directory}` restores the pipeline's "
                               f"last model, `dvc repro train` trains one")
    try:
        meta = json.loads(meta_path.read_text())
        arch = check_meta(meta)
    except (ValueError, KeyError, TypeError) as e:
        raise NameCNNError(f"{meta_path}: not a namecnn model description ({e})") from None
    try:
        with np.load(weights) as z:
            params = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise NameCNNError(f"{weights}: corrupt or unreadable weights ({e})") from None
    if SAVED_META in params:
        differs = first_difference(meta, json.loads(str(params.pop(SAVED_META))))
        if differs:
            raise NameCNNError(f"{meta_path}: {differs} differs from the description saved with {weights}")
    n = meta.get("members", 1)
    expect = shapes(arch)
    if n > 1:
        expect = {f"m{i}.{k}": v for i in range(n) for k, v in expect.items()}
    if set(params) != set(expect) or any(params[k].shape != expect[k] for k in expect):
        raise NameCNNError(f"{weights}: weights do not match the architecture in {meta_path}")
    return members(params, n), meta
