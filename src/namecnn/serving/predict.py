"""Names in, languages and probabilities out: what `namecnn predict` and the MLflow pyfunc model share.

A name is folded to ASCII (accents dropped: Müller -> muller, Dvořák -> dvorak; letters without a
decomposition mapped: Ødegaard -> odegaard, Straße -> strasse), lower-cased and stripped. Then:
a character still outside the model's alphabet is dropped, and a name longer than n_len is cut to
n_len, each with a warning; a name left empty is an error of that row alone. A network trained on names
between boundary marks gets them added here. Each distinct name is classified once.
"""
import warnings

import numpy as np

from .. import data
from ..data import fold, show
from ..errors import NameCNNError
from ..nn import model
from ..scoring import conformal


def clean_one(raw, alphabet, n_len, boundary):
    """One name fitted to the model -> (cleaned name or None, its warnings, its error or None)."""
    name = fold(raw)
    notes = []
    dropped = sorted({c for c in name if c not in alphabet})
    if dropped:
        name = "".join(c for c in name if c in alphabet).strip()
        notes.append(f"name {show(raw)}: character(s) {', '.join(map(repr, dropped))[:200]} not in the model's "
                     f"alphabet, dropped")
    if len(name) > n_len:
        notes.append(f"name {show(raw)}: {len(name)} characters, cut to the model's n_len={n_len}")
        name = name[:n_len]
    if not name:
        return None, notes, f"name {show(raw)}: nothing left to classify after folding to the model's alphabet"
    return (f"{boundary}{name}{boundary}" if boundary else name), notes, None


def classify(params, meta, names):
    """Probabilities (N, n_classes) of every name, NaN rows where a name cannot be classified, with the
    warnings [(row, text)] and the errors {row: text}; each distinct name is folded, encoded and scored once."""
    boundary = meta.get("boundary")
    alphabet = set(meta["itos"]) - {boundary}
    n_len = meta["arch"]["n_len"] - (2 if boundary else 0)
    distinct, first, inverse = np.unique(np.asarray(names, dtype=object).astype(str), return_index=True,
                                         return_inverse=True)
    cleaned, notes, errors = [], [], {}
    for i, raw in enumerate(distinct):
        name, warned, error = clean_one(str(raw), alphabet, n_len, boundary)
        cleaned.append(name)
        notes += [(int(first[i]), w) for w in warned]             # once, at the name's first row
        if error:
            errors[i] = error
    ok = [i for i, name in enumerate(cleaned) if name is not None]
    P = np.full((len(distinct), len(meta["classes"])), np.nan)
    if ok:
        stoi = {ch: k for k, ch in enumerate(meta["itos"])}
        P[ok] = model.predict_proba(params, data.encode([cleaned[i] for i in ok], stoi, meta["arch"]["n_len"]),
                                    temperature=temperature(meta))
    bad = np.flatnonzero(np.isin(inverse, list(errors)))
    return P[inverse], sorted(notes), {int(row): errors[inverse[row]] for row in bad}


def encode_names(names, meta):
    """Raw names -> (N, n_len) indices and the warnings; a name that cannot be classified is a NameCNNError."""
    boundary = meta.get("boundary")
    alphabet, n_len = set(meta["itos"]) - {boundary}, meta["arch"]["n_len"] - (2 if boundary else 0)
    cleaned, notes = [], []
    for raw in names:
        name, warned, error = clean_one(raw, alphabet, n_len, boundary)
        if error:
            raise NameCNNError(error)
        cleaned.append(name)
        notes += warned
    return data.encode(cleaned, {ch: i for i, ch in enumerate(meta["itos"])}, meta["arch"]["n_len"]), notes


def probabilities(params, meta, names):
    """(N, n_classes) class probabilities for labelled names (every one must classify); notes become warnings."""
    X, notes = encode_names(names, meta)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return model.predict_proba(params, X, temperature=temperature(meta))


def temperature(meta):
    """The temperature the model was calibrated at (1: a model without calibration names)."""
    return meta.get("calibration", {}).get("temperature", 1.0)


def sets(P, meta, coverage=None):
    """Boolean (N, K) prediction sets at `coverage` (default: the model's, params.yaml's predict.coverage), from
    the conformal scores of the names the model was calibrated on; rows of NaN (unclassified) get no set."""
    cal = meta.get("calibration")
    if not cal:
        raise NameCNNError("this model has no calibration names (train.calibration: 0): it cannot give sets")
    coverage = cal["coverage"] if coverage is None else coverage
    if not 0 < coverage < 1:
        raise NameCNNError(f"coverage: must be between 0 and 1, got {coverage!r}")
    ok = ~np.isnan(P).any(axis=1)
    member = np.zeros(P.shape, dtype=bool)
    qhat = conformal.threshold(cal["scores"], coverage, cal.get("weights"))
    member[ok] = conformal.sets(P[ok], qhat, cal["method"])
    return member


def top_k(P, classes, k):
    """Per row of P, the k most probable classes as [{"language", "probability"}, ...]."""
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]
    return [[{"language": classes[j], "probability": float(P[i, j])} for j in row] for i, row in enumerate(order)]


def frame(params, meta, names):
    """A DataFrame: name, language, probability, error ("", or why the name could not be classified: its
    language is then "" and its probabilities empty), the prediction set at the model's coverage ("Spanish |
    Portuguese", most probable first; "" without calibration), then one probability column per class."""
    import pandas as pd  # lazy: `namecnn predict` never builds a DataFrame, and pandas takes 0.5 s to load

    names = [str(n) for n in names]
    P, _, errors = classify(params, meta, names)
    classes = meta["classes"]
    best = np.nan_to_num(P, nan=-1).argmax(axis=1)
    df = pd.DataFrame({"name": names,
                       "language": ["" if i in errors else classes[b] for i, b in enumerate(best)],
                       "probability": P[np.arange(len(names)), best].astype(np.float64),
                       "error": [errors.get(i, "") for i in range(len(names))],
                       "set": set_labels(P, meta) if meta.get("calibration") else ""})
    return pd.concat([df, pd.DataFrame(P.astype(np.float64), columns=classes)], axis=1)


def set_labels(P, meta, coverage=None):
    """Each row's set as text, most probable first: "Spanish | Portuguese"."""
    member, classes = sets(P, meta, coverage), meta["classes"]
    order = np.argsort(-np.nan_to_num(P, nan=0), axis=1, kind="stable")
    return [" | ".join(classes[j] for j in row if member[i, j]) for i, row in enumerate(order)]
