"""Shared known-issue predicates (adapters/known_issue_rules.py) excuse exactly where the framework's bug shows:
compared, input by input, with what the framework computes around the bug's threshold."""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.adapters import load_backend
from nnspec.adapters.known_issue_rules import gelu_grad_overflows
from nnspec.reference import dtypes


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_grad_overflow_excuse_is_where_the_nan_is(backend, dtype):
    pytest.importorskip({"jax": "jax", "tensorflow": "tensorflow"}[backend])
    top = dtypes.get(dtype).max
    x = dtypes.round_to(np.array([top / 2, top / 2, top / 2, -top / 2, top / 4, 1e3, np.inf, -np.inf]), dtype)
    # |g x| / max: 0.75, 1.75 (below sqrt(pi) = 1.7725), 1.8 and 2 (above), 2 at -x, 2 at x = max/4, small, inf
    g = np.array([1.5, 3.5, 3.6, 4.0, 8.0, 8.0, 1.0, 1.0])
    observed = load_backend(backend).vjp("gelu", {"x": x}, {"approximate": False}, g, dtype)["x"]
    excused = gelu_grad_overflows({"x": x, "grad_output": g}, {}, dtype)
    assert np.array_equal(excused, np.isnan(observed)), (excused, observed)
