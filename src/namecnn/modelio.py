"""A trained model on disk: weights (model.npz) and what is needed to use them (model.json)."""
import json
import zipfile
from pathlib import Path

import numpy as np

from . import fsio, model
from .errors import NameCNNError

WEIGHTS, META = "model.npz", "model.json"


def save(directory, params, meta):
    """Write both files atomically (each one appears whole or not at all); model.json goes last."""
    directory = Path(directory)
    fsio.write_npz(directory / WEIGHTS, **params)
    fsio.write_json(directory / META, meta)


def model_meta(arch, data_meta, train_cfg):
    """What predicting needs besides the weights: the architecture, the alphabet (with the boundary mark
    last when the network reads names between marks), the classes, and how it was trained."""
    boundary = data_meta["boundary"] if train_cfg.get("boundary") else None
    return {"arch": {"d": arch.d, "n_len": arch.n_len, "n_classes": arch.n_classes, "filters": list(arch.filters),
                     "widths": list(arch.widths), "bias": arch.bias, "pool": arch.pool},
            "itos": data_meta["itos"] + ([boundary] if boundary else []), "boundary": boundary,
            "classes": data_meta["classes"], "train": train_cfg}


def load(directory):
    """-> (params, meta); a missing or corrupt file is a one-line NameCNNError naming it."""
    directory = Path(directory)
    weights, meta_path = directory / WEIGHTS, directory / META
    for path in (meta_path, weights):
        if not path.is_file():
            raise NameCNNError(f"{path}: model file not found (train one with `dvc repro train`)")
    try:
        meta = json.loads(meta_path.read_text())
        arch = model.Arch(**{**meta["arch"], "filters": tuple(meta["arch"]["filters"]),
                             "widths": tuple(meta["arch"]["widths"])})
    except (ValueError, KeyError, TypeError) as e:
        raise NameCNNError(f"{meta_path}: not a namecnn model description ({e})") from None
    try:
        with np.load(weights) as z:
            params = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise NameCNNError(f"{weights}: corrupt or unreadable weights ({e})") from None
    expect = model.init_params(arch, np.random.default_rng(0))
    if set(params) != set(expect) or any(params[k].shape != expect[k].shape for k in expect):
        raise NameCNNError(f"{weights}: weights do not match the architecture in {meta_path}")
    return params, meta
