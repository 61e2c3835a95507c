"""Gradient clipping: the gradients the backend's own clipping hands its optimizer, against the reference under
the backend's declared conventions (eps, what a non-finite global norm does).

Spec: docs/spec/gradient-clipping.md (budget: docs/spec/error-budgets.md#gradient-clipping)
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.adapters.base import UnsupportedError
from nnspec.conformance import gradient_clipping as room


def _check(checker, mode, grads, hyper, anchor):
    comparisons = room.check(checker.backend, mode, grads, hyper, checker.fmt)
    checker.expect(comparisons, room.case(mode, grads, hyper, anchor))


def _scripted(checker, name, anchor):
    for mode, grads, hyper in room.SCRIPTED[name]:
        _check(checker, mode, grads, hyper, anchor)


@given(data=st.data())
def test_gradient_clipping_global_norm_matches_reference(checker, data):
    checker.require("gradient_clipping", "global norm", feature="gradient_clipping")
    grads, hyper = data.draw(room.clipping_cases("global_norm", checker.fmt), label="case")
    _check(checker, "global_norm", grads, hyper, "global-norm")


@given(data=st.data())
def test_gradient_clipping_per_tensor_norm_matches_reference(checker, data):
    checker.require("gradient_clipping", "per-tensor norm", feature="gradient_clipping")
    grads, hyper = data.draw(room.clipping_cases("per_tensor_norm", checker.fmt), label="case")
    _check(checker, "per_tensor_norm", grads, hyper, "per-tensor-norm")


@given(data=st.data())
def test_gradient_clipping_by_value_matches_reference(checker, data):
    checker.require("gradient_clipping", "by value", feature="gradient_clipping")
    grads, hyper = data.draw(room.clipping_cases("value", checker.fmt), label="case")
    _check(checker, "value", grads, hyper, "by-value")


def test_gradient_clipping_zero_gradients_stay_zero(checker):
    checker.require("gradient_clipping", "zero gradients", feature="gradient_clipping")
    _scripted(checker, "zero", "zero-gradients")


def test_gradient_clipping_nonfinite_norm(checker):
    checker.require("gradient_clipping", "non-finite norm", feature="gradient_clipping")
    _scripted(checker, "nonfinite", "non-finite-gradients")


def test_gradient_clipping_at_the_threshold(checker):
    checker.require("gradient_clipping", "norm at the threshold", feature="gradient_clipping")
    _scripted(checker, "boundary", "conventions")


def test_gradient_clipping_infinity_norm(checker):
    checker.require("gradient_clipping", "infinity norm", feature="gradient_clipping")
    try:
        _scripted(checker, "inf_norm", "global-norm")
    except UnsupportedError as error:
        pytest.skip(f"unsupported: {error}")
