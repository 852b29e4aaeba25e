"""Names in, languages and probabilities out: what `namecnn predict` and the MLflow pyfunc model share.

A name is folded to ASCII (accents dropped: Müller -> muller, Dvořák -> dvorak; letters without a
decomposition mapped: Ødegaard -> odegaard, Straße -> strasse), lower-cased and stripped. Then:
a character still outside the model's alphabet is dropped, and a name longer than n_len is cut to
n_len, each with a warning; a name left empty is an error. A network trained on names between boundary
marks gets them added here.
"""
import warnings

import numpy as np

from .. import data
from ..data import fold
from ..errors import NameCNNError
from ..nn import model


def clean(names, meta):
    """Fold every name and fit it to the model: (cleaned names, warnings). Raises for an empty name."""
    boundary = meta.get("boundary")
    alphabet = set(meta["itos"]) - {boundary}
    n_len = meta["arch"]["n_len"] - (2 if boundary else 0)
    out, notes = [], []
    for raw in names:
        name = fold(raw)
        dropped = sorted({c for c in name if c not in alphabet})
        if dropped:
            name = "".join(c for c in name if c in alphabet).strip()
            notes.append(f"name {raw!r}: character(s) {', '.join(map(repr, dropped))} not in the model's "
                         f"alphabet, dropped")
        if len(name) > n_len:
            notes.append(f"name {raw!r}: {len(name)} characters, cut to the model's n_len={n_len}")
            name = name[:n_len]
        if not name:
            raise NameCNNError(f"name {raw!r}: nothing left to classify after folding to the model's alphabet")
        out.append(f"{boundary}{name}{boundary}" if boundary else name)
    return out, notes


def encode_names(names, meta):
    """Raw names -> (N, n_len) indices and the warnings of `clean`."""
    cleaned, notes = clean(names, meta)
    stoi = {ch: i for i, ch in enumerate(meta["itos"])}
    return data.encode(cleaned, stoi, meta["arch"]["n_len"]), notes


def probabilities(params, meta, names):
    """(N, n_classes) class probabilities for a list of names; cleaning notes become Python warnings."""
    X, notes = encode_names(names, meta)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return model.predict_proba(params, X)


def top_k(P, classes, k):
    """Per row of P, the k most probable classes as [{"language", "probability"}, ...]."""
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]
    return [[{"language": classes[j], "probability": float(P[i, j])} for j in row] for i, row in enumerate(order)]


def frame(params, meta, names):
    """A DataFrame: name, language, probability, then one probability column per class."""
    import pandas as pd  # lazy: `namecnn predict` never builds a DataFrame, and pandas takes 0.5 s to load

    names = [str(n) for n in names]
    P = probabilities(params, meta, names)
    best = P.argmax(axis=1)
    classes = meta["classes"]
    df = pd.DataFrame({"name": names, "language": [classes[i] for i in best],
                       "probability": P[np.arange(len(names)), best].astype(np.float64)})
    return pd.concat([df, pd.DataFrame(P.astype(np.float64), columns=classes)], axis=1)
