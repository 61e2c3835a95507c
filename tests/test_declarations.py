"""The adapter protocol's data lives in adapters/declarations.py and stays importable from adapters/base.py under
the same names (external adapters and `nnspec new-backend`'s output write ``from nnspec.adapters.base import
Capabilities, UnsupportedError``)."""

from __future__ import annotations

import pytest

from nnspec.adapters import base, declarations


@pytest.mark.parametrize("name", declarations.__all__)
def test_every_declaration_is_reexported_by_base_unchanged(name):
    assert name in base.__all__
    assert getattr(base, name) is getattr(declarations, name)


def test_the_protocol_stays_in_base():
    assert "Backend" in base.__all__ and "UnsupportedError" in base.__all__
    assert not hasattr(declarations, "Backend") and not hasattr(declarations, "UnsupportedError")
