"""The package stays layered: imports point down only, and only the backend imports numpy."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "lamina"

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS = {
    "backend": 0, "errors": 0,
    "autograd": 1,
    "functional": 2, "testing": 2,
    "nn": 3,
    "optim": 4,
    "data": 5, "datasets": 5, "utils": 5,
    "metrics": 6, "io": 6,
    "train": 7,
    "models": 8, "applications": 8,
    # application packages: each may use everything below and its peers, nothing imports them
    "explain": 8, "robust": 8, "uncertainty": 8, "continual": 8, "fairness": 8, "privacy": 8,
    "sklearn": 8, "ensemble": 8, "deploy": 8, "distributed": 8, "tune": 8, "rl": 8,
    "cli": 9,
}
NUMPY_ALLOWED = {"backend", "testing"}


def _layer_of(parts):
    return parts[0] if parts else None


def _imports(path: pathlib.Path, modparts):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = modparts[: len(modparts) - node.level]
                mod = ".".join(["lamina", *base] + ([node.module] if node.module else []))
                if node.module is None:
                    for a in node.names:
                        yield f"{mod}.{a.name}", node.lineno
                    continue
                yield mod, node.lineno
            else:
                yield node.module or "", node.lineno


def _files():
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG)
        if rel.parts == ("__init__.py",) or rel.parts[0] == "__main__.py":
            continue  # the top-level API surface may import anything
        yield p, rel


def test_imports_point_down():
    bad = []
    for p, rel in _files():
        modparts = list(rel.with_suffix("").parts)
        if modparts[-1] == "__init__":
            modparts = modparts[:-1] + ["__init__"]
        own = _layer_of(rel.with_suffix("").parts)
        own_level = LAYERS.get(own.removesuffix(".py") if own else own)
        assert own_level is not None, f"{rel}: top-level module {own!r} has no layer in LAYERS"
        for name, line in _imports(p, modparts):
            if not name.startswith("lamina.") and name != "lamina":
                continue
            parts = name.split(".")[1:]
            if not parts:
                bad.append(f"{rel}:{line} imports the top-level lamina package")
                continue
            target = parts[0]
            lvl = LAYERS.get(target)
            if lvl is not None and lvl > own_level:
                bad.append(f"{rel}:{line} ({own}, layer {own_level}) imports lamina.{target} "
                           f"(layer {lvl})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_numpy_only_in_backend():
    bad = []
    for p, rel in _files():
        if rel.parts[0] in NUMPY_ALLOWED:
            continue
        for name, line in _imports(p, list(rel.with_suffix("").parts)):
            if name == "numpy" or name.startswith("numpy.") or name == "cupy":
                bad.append(f"{rel}:{line} imports {name}")
    assert not bad, ("import the array module from lamina.backend instead:\n" + "\n".join(bad))


def test_no_file_over_600_lines():
    long = []
    for d in ("lamina", "tests", "benchmarks", "examples"):
        for p in (ROOT / d).rglob("*.py"):
            n = sum(1 for _ in p.open(encoding="utf-8"))
            if n > 600:
                long.append(f"{p.relative_to(ROOT)}: {n} lines")
    assert not long, "split these files (limit 600 lines):\n" + "\n".join(long)


def test_layering_check_catches_an_upward_import(tmp_path):
    """The checker itself works: an autograd file importing nn is reported."""
    f = tmp_path / "x.py"
    f.write_text("from ..nn import Module\nimport numpy as np\n")
    names = [n for n, _ in _imports(f, ["autograd", "x"])]
    assert "lamina.nn" in names and "numpy" in names
