"""The package's import graph read from the source with `ast` (function-level imports included): what
tests/test_dvc.py checks the stages' deps against and tests/test_layout.py checks the layering on."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "namecnn"


def path_of(module):
    """namecnn.nn.model -> src/namecnn/nn/model.py; a package -> its __init__.py; None outside the package."""
    base = SRC.joinpath(*module.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def module_of(path):
    rel = Path(path).resolve().relative_to(SRC).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def parents(module):
    """namecnn.nn.model -> [namecnn, namecnn.nn]: the packages whose __init__ runs before it."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports(path, module=None):
    """The namecnn modules a file imports (dotted names), anywhere in it."""
    path = Path(path)
    is_pkg = path.name == "__init__.py"
    module = module or (module_of(path) if SRC in path.resolve().parents else None)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_pkg else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            targets = [f"{target}.{a.name}" if path_of(f"{target}.{a.name}") else target for a in node.names]
        for t in targets:
            if t.split(".")[0] == "namecnn" and path_of(t):
                found.add(t)
    return found


def closure(path):
    """Every namecnn module a file runs when imported: its imports, theirs, and their packages' __init__."""
    seen, todo = set(), list(imports(path))
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += parents(m) + list(imports(path_of(m), m))
    return seen


def graph():
    """{module: the modules it imports} over the whole package."""
    return {module_of(p): imports(p) for p in sorted(PKG.rglob("*.py"))}
