"""Names in, languages and probabilities out: what `namecnn predict` and the MLflow pyfunc model share."""
import numpy as np

from . import data, model


def encode_names(names, meta):
    """Raw names -> (N, n_len) indices; case and surrounding whitespace ignored."""
    stoi = {ch: i for i, ch in enumerate(meta["itos"])}
    return data.encode([str(n).strip().lower() for n in names], stoi, meta["arch"]["n_len"])


def probabilities(params, meta, names):
    """(N, n_classes) class probabilities for a list of names."""
    return model.predict_proba(params, encode_names(names, meta))


def frame(params, meta, names):
    """A DataFrame: name, language, probability, then one probability column per class."""
    import pandas as pd

    names = [str(n) for n in names]
    P = probabilities(params, meta, names)
    best = P.argmax(axis=1)
    classes = meta["classes"]
    df = pd.DataFrame({"name": names, "language": [classes[i] for i in best],
                       "probability": P[np.arange(len(names)), best].astype(np.float64)})
    return pd.concat([df, pd.DataFrame(P.astype(np.float64), columns=classes)], axis=1)
