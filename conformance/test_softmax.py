"""Softmax and log-softmax: agreement with the reference, and their algebraic properties on the backend.

Spec: docs/spec/activations.md#softmax, docs/spec/activations.md#log-softmax
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import budgets
from nnspec.conformance.activations import softmax as softmax_room
from nnspec.conformance.comparison import compare
from nnspec.conformance.errormodel import gamma
from nnspec.conformance.strategies.activations import grad_outputs, rows

ROWWISE = ["softmax", "log_softmax"]


@pytest.mark.parametrize("primitive", ROWWISE)
@given(data=st.data(), axis=st.sampled_from([-1, 0]))
def test_rowwise_forward_matches_reference(checker, primitive, data, axis):
    checker.require(primitive, "forward")
    x = data.draw(rows(checker.fmt), label="x")
    checker.forward(primitive, {"x": x}, {"axis": axis})


@pytest.mark.parametrize("primitive", ROWWISE)
@given(data=st.data(), axis=st.sampled_from([-1, 0]))
def test_rowwise_backward_matches_reference(checker, primitive, data, axis):
    checker.require(primitive, "backward")
    x = data.draw(rows(checker.fmt), label="x")
    g = data.draw(grad_outputs(checker.fmt, x.shape), label="grad_output")
    checker.vjp(primitive, {"x": x}, g, {"axis": axis})


@given(data=st.data())
def test_softmax_shift_invariant(checker, data):
    """softmax(x + c) = softmax(x) for a constant c per row, within both results' budgets, once the exact effect
    of rounding x + c to the dtype (0 where the shift is exact) is added to softmax(x)."""
    checker.require("softmax", "shift invariance")
    x = data.draw(rows(checker.fmt, max_classes=5), label="x")
    c = data.draw(st.sampled_from([1.0, -64.0, 1024.0, 1e4]), label="c")
    shifted = checker.fmt.round(x + c)
    y = checker.backend.forward("softmax", {"x": x}, {"axis": -1}, checker.dtype)
    y_shifted = checker.backend.forward("softmax", {"x": shifted}, {"axis": -1}, checker.dtype)
    budget = (budgets.forward("softmax", {"x": x}, {"axis": -1}, checker.fmt)
              + budgets.forward("softmax", {"x": shifted}, {"axis": -1}, checker.fmt))
    moved = y + softmax_room.rounding_effect(x, shifted)  # what softmax(x + c) is, from y, if rounded
    checker.expect({"softmax(x + c) vs softmax(x)": compare(y_shifted, moved, budget)},
                   {"primitive": "softmax", "arrays": {"x": x, "shifted": shifted}})


@given(data=st.data())
def test_softmax_rows_sum_to_one(checker, data):
    checker.require("softmax", "rows sum to 1")
    x = data.draw(rows(checker.fmt), label="x")
    y = checker.backend.forward("softmax", {"x": x}, {"axis": -1}, checker.dtype)
    budget = np.sum(budgets.forward("softmax", {"x": x}, {"axis": -1}, checker.fmt), axis=-1)
    budget = budget + gamma(x.shape[-1], checker.fmt.unit_roundoff)  # summing the row
    checker.expect({"row sums": compare(np.sum(y, axis=-1), np.ones(x.shape[0]), budget)},
                   {"primitive": "softmax", "arrays": {"x": x}})


@given(data=st.data())
def test_log_softmax_nonpositive_and_finite(checker, data):
    """log_softmax <= 0 (up to its budget) and finite, for spreads up to 1e4 and shifts up to 1e8."""
    checker.require("log_softmax", "non-positive and finite")
    x = data.draw(rows(checker.fmt), label="x")
    y = checker.backend.forward("log_softmax", {"x": x}, {"axis": -1}, checker.dtype)
    budget = budgets.forward("log_softmax", {"x": x}, {"axis": -1}, checker.fmt)
    excess = np.where(np.isfinite(y), np.maximum(y, 0.0), np.inf)  # how far above 0 (inf: not finite)
    checker.expect({"max(log_softmax, 0)": compare(excess, np.zeros_like(y), budget)},
                   {"primitive": "log_softmax", "arrays": {"x": x}})


@pytest.mark.parametrize("primitive", ROWWISE)
def test_rowwise_equal_huge_logits(checker, primitive):
    """Equal huge entries: softmax is uniform, log_softmax is -log C (pytorch#11752)."""
    checker.require(primitive, "equal huge logits")
    big = checker.fmt.max / 4
    x = checker.fmt.round(np.array([[big, big], [-big, -big], [big, big]]))
    checker.forward(primitive, {"x": x}, {"axis": -1})
    checker.vjp(primitive, {"x": x}, np.array([[1.0, 0.0], [0.5, -0.5], [2.0, 2.0]]), {"axis": -1})
