"""Every `Spec: docs/spec/<page>.md#<anchor>` cited in the code points at an anchor that exists, and every
public function of the reference cites one."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import nnspec.reference

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"docs/spec/([A-Za-z0-9-]+\.md)#([a-z0-9-]+)")


def anchors(page: Path) -> set[str]:
    """The anchors of a markdown page: its explicit ``<a id="..."></a>`` and its headings' GitHub slugs. The one
    parser of anchors in the tests (tests/test_completeness.py loads it from here)."""
    text = page.read_text()
    explicit = set(re.findall(r'<a id="([^"]+)"></a>', text))
    headings = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    return explicit | headings


def _citations():
    for folder in ("reference", "conformance", "adapters", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for page, anchor in CITATION.findall(path.read_text()):
                yield pytest.param(path.relative_to(ROOT), page, anchor, id=f"{path.name}->{page}#{anchor}")


@pytest.mark.parametrize(("source", "page", "anchor"), sorted(set(_citations()), key=lambda p: p.id))
def test_cited_spec_anchor_exists(source, page, anchor):
    path = ROOT / "docs" / "spec" / page
    assert path.exists(), f"{source} cites missing page docs/spec/{page}"
    assert anchor in anchors(path), f"{source} cites docs/spec/{page}#{anchor}, which has no such anchor"


def _public_functions():
    for info in pkgutil.walk_packages(nnspec.reference.__path__, "nnspec.reference."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue  # private helper modules (validation, reductions, state checks)
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == info.name and not name.startswith("_"):
                yield pytest.param(function, id=f"{info.name}.{name}")


@pytest.mark.parametrize("function", list(_public_functions()))
def test_reference_function_cites_its_spec(function):
    assert "Spec: docs/spec/" in (function.__doc__ or ""), f"{function.__qualname__} has no Spec: line"
