"""Raw surname files -> integer index arrays plus `meta` (nanoGPT's prepare.py, for names).

A name is stored as the indices of its characters in the sorted alphabet, left-aligned and padded
with `pad = len(alphabet)` up to `n_len`; the network reads index `pad` as an all-zero one-hot column.
Each split holds two encodings: `X`, the study's (d = 29, n_len = 19), and `Xb`, the same names between
two boundary marks `^` (alphabet + `^`: d = 30, n_len = 21), which tell a max-pooled network where a name
begins and ends (as char_wb n-grams do).
"""
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
from anyascii import anyascii

from .errors import NameCNNError

NAMES, LABELS, VAL_INDS = "ascii_names.txt", "category_labels.txt", "Validation_Inds.txt"
BOUNDARY = "^"
MAX_LEN = 40          # characters in a name; the longest surname in the data has 19
INTEGER = re.compile(r"-?[0-9]+")


def fold(name):
    """Unicode name -> ASCII, lower-cased, stripped: what encode stores and predict classifies. Letters, marks,
    punctuation and spaces of any script go through anyascii's transliteration (Смирнов -> smirnov, Nguyễn ->
    nguyen, Müller -> muller, Straße -> strasse, Ødegaard -> odegaard); symbols and emoji stay as they are, to be
    dropped as outside the alphabet rather than spelled out as words (anyascii writes 😀 as ':grinning:')."""
    return "".join(c if c.isascii() or unicodedata.category(c)[0] not in "LMPZ" else anyascii(c)
                   for c in str(name)).strip().lower()


def show(text, limit=60):
    """A line or name for an error message: its repr, cut to `limit` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text)} characters)"


def _lines(path):
    """A text file's lines: UTF-8 (a leading byte-order mark dropped); bytes that are not name the line."""
    path = Path(path)
    if not path.is_file():
        raise NameCNNError(f"{path}: file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise NameCNNError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x})") from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise NameCNNError(f"{path}: file is empty")
    return lines


def check_name(raw, where):
    """A name as read -> folded (é -> e, ß -> ss); it must then be printable ASCII (what predict can produce),
    without the boundary mark, and at most MAX_LEN characters."""
    name = fold(raw)
    if len(name) > MAX_LEN:
        raise NameCNNError(f"{where}: name {show(name)} is longer than {MAX_LEN} characters")
    for ch in name:
        if not " " <= ch <= "~" or ch == BOUNDARY:
            what = "the boundary mark" if ch == BOUNDARY else f"U+{ord(ch):04X}, not printable ASCII"
            raise NameCNNError(f"{where}: character {ch!r} ({what}) in name {show(raw)}")
    if not name:
        raise NameCNNError(f"{where}: empty name")
    return name


def read_classes(path):
    """`LABEL Language` lines -> class names, index 0 = label 1."""
    classes = {}
    for i, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not INTEGER.fullmatch(parts[0]) or parts[0].startswith("-"):
            raise NameCNNError(f"{path}:{i}: expected 'LABEL Language', got {show(line)}")
        label = int(parts[0])
        if label in classes:
            raise NameCNNError(f"{path}:{i}: label {label} given twice")
        classes[label] = parts[1].strip()
    if sorted(classes) != list(range(1, len(classes) + 1)):
        raise NameCNNError(f"{path}: labels must be 1..{len(classes)} with none missing")
    return [classes[k] for k in sorted(classes)]


def read_labelled_names(path, n_classes):
    """`Name LABEL` lines (label = last token, 1..n_classes) -> (lower-cased names, 0-based labels)."""
    names, labels = [], []
    for i, line in enumerate(_lines(path), 1):
        if not line.strip():
            raise NameCNNError(f"{path}:{i}: empty line")
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2:
            raise NameCNNError(f"{path}:{i}: no label after the name in {show(line)}")
        name, label = check_name(parts[0], f"{path}:{i}"), parts[1]
        if not INTEGER.fullmatch(label):
            raise NameCNNError(f"{path}:{i}: label {show(label)} is not an integer")
        if not 1 <= int(label) <= n_classes:
            raise NameCNNError(f"{path}:{i}: label {label} is outside 1..{n_classes}")
        names.append(name)
        labels.append(int(label) - 1)
    return names, np.array(labels, dtype=np.int64)


def read_val_rows(path, n_rows):
    """One-based line numbers (whitespace-separated, any lines) -> sorted 0-based rows."""
    rows, seen = [], set()
    for i, line in enumerate(_lines(path), 1):
        for tok in line.split():
            if not INTEGER.fullmatch(tok) or tok.startswith("-"):
                raise NameCNNError(f"{path}:{i}: index {show(tok)} is not a positive integer")
            k = int(tok)
            if not 1 <= k <= n_rows:
                raise NameCNNError(f"{path}:{i}: index {k} is outside 1..{n_rows} (one-based line numbers)")
            if k in seen:
                raise NameCNNError(f"{path}:{i}: index {k} is repeated")
            seen.add(k)
            rows.append(k - 1)
    return np.array(sorted(rows), dtype=np.int64)


def encode(names, stoi, n_len):
    """Names -> (N, n_len) uint8 character indices, padded with len(stoi)."""
    pad = len(stoi)
    X = np.full((len(names), n_len), pad, dtype=np.uint8)
    for j, name in enumerate(names):
        if len(name) > n_len:
            raise NameCNNError(f"name {name!r} has {len(name)} characters, more than n_len={n_len}")
        for p, ch in enumerate(name):
            if ch not in stoi:
                raise NameCNNError(f"name {name!r}: character {ch!r} is not in the alphabet")
            X[j, p] = stoi[ch]
    return X


def prepare(raw_dir):
    """Read the raw files of `raw_dir` -> ({'train': arrays, 'val': arrays}, meta)."""
    raw_dir = Path(raw_dir)
    classes = read_classes(raw_dir / LABELS)
    names, y = read_labelled_names(raw_dir / NAMES, len(classes))
    val_rows = read_val_rows(raw_dir / VAL_INDS, len(names))
    itos = sorted(set("".join(names)))
    stoi = {ch: i for i, ch in enumerate(itos)}
    n_len = max(len(n) for n in names)
    X = encode(names, stoi, n_len)
    Xb = encode([wrap(n) for n in names], {**stoi, BOUNDARY: len(itos)}, n_len + 2)
    is_val = np.zeros(len(names), dtype=bool)
    is_val[val_rows] = True
    names_arr = np.array(names)
    splits = {split: {"X": X[mask], "Xb": Xb[mask], "y": y[mask].astype(np.uint8), "names": names_arr[mask]}
              for split, mask in (("train", ~is_val), ("val", is_val))}
    meta = {
        "alphabet": "".join(itos), "itos": itos, "stoi": stoi, "d": len(itos), "pad": len(itos),
        "n_len": n_len, "boundary": BOUNDARY, "classes": classes, "n_classes": len(classes),
        "counts": {split: {c: int((s["y"] == k).sum()) for k, c in enumerate(classes)}
                   for split, s in splits.items()},
    }
    return splits, meta


def wrap(name):
    return f"{BOUNDARY}{name}{BOUNDARY}"


def view(meta, boundary):
    """What the network sees of the data: alphabet size d, n_len, classes; with boundary marks or not."""
    return {"d": meta["d"] + boundary, "n_len": meta["n_len"] + 2 * boundary, "n_classes": meta["n_classes"]}


def inputs(split, boundary):
    """A split's arrays for a network with or without boundary marks: {X, y}."""
    return {"X": split["Xb" if boundary else "X"], "y": split["y"]}


def inner_split(train, fraction, seed):
    """The training names split, stratified by class, into (inner_train, inner_val): what the search and its
    confirmation train and select on, so that no choice ever sees a validation name."""
    from sklearn.model_selection import train_test_split  # lazy: 1.3 s to import, and predict loads this module

    rows = np.arange(len(train["y"]))
    fit, held = train_test_split(rows, test_size=fraction, stratify=train["y"], random_state=seed)
    fit.sort()
    held.sort()
    return {k: v[fit] for k, v in train.items()}, {k: v[held] for k, v in train.items()}


def load(encoded_dir):
    """Encoded arrays and meta written by the encode stage."""
    encoded_dir = Path(encoded_dir)
    meta_path = encoded_dir / "meta.json"
    if not meta_path.is_file():
        raise NameCNNError(f"{meta_path}: not found; run the encode stage (dvc repro encode)")
    meta = json.loads(meta_path.read_text())
    splits = {}
    for split in ("train", "val"):
        with np.load(encoded_dir / f"{split}.npz") as z:
            splits[split] = {k: z[k] for k in z.files}
    return splits, meta
