"""The raw layout encode reads, from a user's name lists (`namecnn data import`), and which edition a raw folder is.

A source is either a folder of `<Language>.txt` files, one name per line in any script (the PyTorch tutorial's
`data/names/`), or the DD2424 layout itself. Either becomes the DD2424 layout: `ascii_names.txt` (`name LABEL`),
`category_labels.txt` (`LABEL Language`), `Validation_Inds.txt` (one-based line numbers), `celebrity_names.txt`
(the unseen names) and, for imported lists, `import.json` (where they came from and what was done to them).
"""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from . import fsio
from .data import LABELS, NAMES, VAL_INDS, _lines, check_name, prepare, read_labelled_names
from .errors import NameCNNError

UNSEEN, RECORD = "celebrity_names.txt", "import.json"
ENCODED = (NAMES, LABELS, VAL_INDS)             # the files encode reads, hashed to tell the edition
DD2424 = "9c6c9fc5413c270810b11ee3206ddf6636c84a9823787bceec63bec5379368f9"


def digest(raw_dir):
    """sha256 over the three files encode reads, in order: the same names, labels and split give the same digest."""
    h = hashlib.sha256()
    for name in ENCODED:
        h.update(hashlib.sha256((Path(raw_dir) / name).read_bytes()).digest())
    return h.hexdigest()


def edition(raw_dir):
    """{"digest", "dd2424": is it the course's edition, "record": import.json's content or None}."""
    record = Path(raw_dir) / RECORD
    d = digest(raw_dir)
    return {"digest": d, "dd2424": d == DD2424,
            "record": json.loads(record.read_text()) if record.is_file() else None}


def read_folder(src):
    """<Language>.txt files -> {language: [folded names, first spelling kept]}, {language: duplicates dropped}."""
    files = sorted(p for p in Path(src).glob("*.txt") if p.is_file())
    if len(files) < 2:
        raise NameCNNError(f"{src}: expected a folder of at least 2 <Language>.txt files (one name per line), "
                           f"found {len(files)}")
    lists, duplicates = {}, {}
    for path in files:
        language = path.stem.strip()
        if not language or any(c.isspace() for c in language.replace(" ", "")):
            raise NameCNNError(f"{path}: the file name must be the language's name")
        lines = [(i, line) for i, line in enumerate(_lines(path), 1) if line.strip()]
        seen = dict.fromkeys(check_name(line, f"{path}:{i}") for i, line in lines)
        lists[language], duplicates[language] = list(seen), len(lines) - len(seen)
    return lists, duplicates


def conflicts(lists):
    """{name: [languages]} for the names listed under more than one language."""
    where = {}
    for language, names in lists.items():
        for name in names:
            where.setdefault(name, []).append(language)
    return {n: ls for n, ls in sorted(where.items()) if len(ls) > 1}


def split(lists, shared, k_val, k_unseen, seed):
    """Per language, k_val validation and k_unseen unseen names drawn (seeded) among those under no other
    language -> ({language: val names}, {language: unseen names}). A language needs 2 k_val + k_unseen such names:
    its validation names, its unseen names, and at least as many to train on as it is validated on."""
    rng = np.random.default_rng(seed)
    val, unseen = {}, {}
    for language, names in lists.items():
        own = [n for n in names if n not in shared]
        need = 2 * k_val + k_unseen
        if len(own) < need:
            raise NameCNNError(f"{language}: {len(own)} names under no other language, fewer than the {need} "
                               f"needed (--val {k_val} to validate on, --unseen {k_unseen}, and {k_val} to train on)")
        drawn = [own[i] for i in rng.permutation(len(own))[:k_val + k_unseen]]
        val[language], unseen[language] = set(drawn[:k_val]), drawn[k_val:]
    return val, unseen


def write_layout(out, lists, val, unseen, record):
    """The DD2424 layout of `lists` into the folder `out`, as a whole (atomic_dir) -> rows written."""
    languages = sorted(lists)
    names, rows = [], []
    for label, language in enumerate(languages, 1):
        for name in lists[language]:
            if name in unseen[language]:
                continue
            names.append(f"{name} {label}")
            if name in val[language]:
                rows.append(len(names))
    with fsio.atomic_dir(out) as tmp:
        (tmp / NAMES).write_text("\n".join(names) + "\n")
        (tmp / LABELS).write_text("".join(f"{i} {language}\n" for i, language in enumerate(languages, 1)))
        (tmp / VAL_INDS).write_text("\n".join(map(str, rows)) + "\n")
        (tmp / UNSEEN).write_text("".join(f"{n} {languages.index(lang) + 1}\n"
                                          for lang in languages for n in sorted(unseen[lang])))
        (tmp / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        prepare(tmp)                                      # what encode will read, read back before it replaces out
    return len(names)


def copy_dd2424(src, out):
    """The DD2424 layout, checked as encode reads it, copied byte for byte (so its digest tells the edition)."""
    splits, meta = prepare(src)
    if (Path(src) / UNSEEN).is_file():
        read_labelled_names(Path(src) / UNSEEN, meta["n_classes"])
    names = [*splits["train"]["names"], *splits["val"]["names"]]
    labels = [*splits["train"]["y"], *splits["val"]["y"]]
    repeated = len(names) - len(set(zip(names, labels, strict=True)))
    if repeated:
        raise NameCNNError(f"{Path(src) / NAMES}: {repeated} names repeated under the same label; import them as a "
                           "folder of <Language>.txt files to remove the duplicates and draw a new split")
    with fsio.atomic_dir(out) as tmp:
        for name in (*ENCODED, UNSEEN):
            if (Path(src) / name).is_file():
                shutil.copy2(Path(src) / name, tmp / name)
    return meta, len(names)


def import_names(src, out, k_val=12, k_unseen=5, seed=0, policy="keep"):
    """Write `out` from `src` (a folder of <Language>.txt files, or the DD2424 layout) -> a summary for the user."""
    src = Path(src)
    if not src.is_dir():
        raise NameCNNError(f"{src}: not a folder")
    if (src / NAMES).is_file() and (src / LABELS).is_file():
        meta, n = copy_dd2424(src, out)
        ed = edition(out)
        return {"kind": "dd2424", "classes": meta["classes"], "names": n, "digest": ed["digest"],
                "dd2424": ed["dd2424"]}
    lists, duplicates = read_folder(src)
    shared = conflicts(lists)
    if policy == "drop":
        lists = {lang: [n for n in names if n not in shared] for lang, names in lists.items()}
    val, unseen = split(lists, shared, k_val, k_unseen, seed)
    record = {"source": str(src.resolve()), "kind": "folder", "seed": seed, "val_per_language": k_val,
              "unseen_per_language": k_unseen, "conflicts": policy,
              "files": {f"{lang}.txt": hashlib.sha256((src / f"{lang}.txt").read_bytes()).hexdigest()
                        for lang in sorted(lists)},
              "duplicates_removed": duplicates, "listed_under_several": shared,
              "names": {lang: len(names) - k_unseen for lang, names in sorted(lists.items())}}
    rows = write_layout(out, lists, val, unseen, record)
    return {**record, "classes": sorted(lists), "rows": rows, "digest": digest(out), "dd2424": False}
