"""The walls of the house (docs/architecture.md): who may import whom, no import cycles, no giant modules.

Imports are read from the source (``ast``), every one of them, including those inside functions: a cycle hidden
by a lazy import is still a cycle. Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are
left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folder -> the package it installs as (pyproject.toml's package-dir).
PACKAGES = {"cli": "nnspec", "reference": "nnspec.reference", "conformance": "nnspec.conformance",
            "adapters": "nnspec.adapters"}
#: Modules allowed past ~400 lines, each with its reason.
LONG_MODULES: dict[str, str] = {}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT)
    parts = [PACKAGES[relative.parts[0]], *relative.parts[1:-1]]
    if path.stem != "__init__":
        parts.append(path.stem)
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(path): path for folder in PACKAGES for path in sorted((ROOT / folder).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(name: str, path: Path) -> set[str]:
    """Every ``nnspec`` module name ``path`` imports (``from m import a`` yields ``m`` and ``m.a``)."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {module for module in found if module.startswith("nnspec")}


SOURCES = _sources()
GRAPH = {name: _imported(name, path) for name, path in SOURCES.items()}

#: (importer prefix, forbidden prefix, why)
WALLS = [
    ("nnspec.reference", "nnspec.conformance", "the reference is the specification; the suite depends on it"),
    ("nnspec.reference", "nnspec.adapters", "the reference knows no framework"),
    ("nnspec.conformance.oracles", "nnspec.reference", "an oracle is an independent derivation of the formula"),
    ("nnspec.adapters", "nnspec.conformance", "a backend implements the protocol; it never reads the judge"),
    ("nnspec.conformance", "nnspec.cli", "the suite runs without the command line"),
    ("nnspec.conformance", "nnspec.__main__", "the suite runs without the command line"),
]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("importer", "forbidden", "why"), WALLS, ids=[f"{a}-x-{b}" for a, b, _ in WALLS])
def test_wall_holds(importer, forbidden, why):
    breaches = sorted(f"{name} imports {target}" for name, targets in GRAPH.items() if _within(name, importer)
                      for target in targets if _within(target, forbidden))
    assert not breaches, f"{importer} must not import {forbidden} ({why}):\n" + "\n".join(breaches)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), over edges between nnspec modules."""
    edges = {name: sorted(t for t in targets if t in GRAPH) for name, targets in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for name in edges:
        if name not in index:
            strong(name)
    return components


def test_no_import_cycles():
    assert not _cycles(), "import cycles (lazy imports included):\n" + "\n".join(map(str, _cycles()))


def test_the_import_reader_sees_a_function_level_import(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nnspec.adapters import base\n"
                    "def f():\n    from ..conformance import guard\n")
    assert _imported("nnspec.reference.x", path) == {"nnspec.conformance", "nnspec.conformance.guard"}


def test_modules_are_small():
    sizes = {name: len(path.read_text().splitlines()) for name, path in SOURCES.items()}
    too_long = sorted(f"{name}: {n} lines" for name, n in sizes.items()
                      if n > MAX_LINES and name not in LONG_MODULES)
    stale = sorted(name for name in LONG_MODULES if sizes.get(name, 0) <= MAX_LINES)
    assert not too_long, f"over the house limit of ~{MAX_LINES} lines (split by concept):\n" + "\n".join(too_long)
    assert not stale, f"LONG_MODULES names modules that are no longer long (remove them): {stale}"


def test_every_package_is_installed():
    """pyproject.toml lists packages by hand; a folder missing there works in an editable install and is absent
    from a wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {_module_name(path) for folder in PACKAGES for path in (ROOT / folder).rglob("__init__.py")}
    assert packages == listed, f"missing from pyproject.toml: {sorted(packages - listed)}; " \
                               f"listed but absent: {sorted(listed - packages)}"
