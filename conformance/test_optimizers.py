"""Optimizers: the backend's own optimizer classes against the reference, per step and free-running.

A hyperparameter the framework fixes and declares (Keras's SGD: dampening 0) is set to its declared value in every
draw. One it neither has nor declares (optax's SGD has no dampening) raises UnsupportedError: that draw is
rejected and counted, or that fixed case skipped; everything the framework has is still checked. A test whose
every draw was rejected is reported unsupported, with the count.

Spec: docs/spec/optimizers.md#conformance (budgets: docs/spec/error-budgets.md#optimizers)
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nnspec.adapters.base import UnsupportedError
from nnspec.conformance import optimizer_checks
from nnspec.conformance.strategies.optimizers import discriminating_cases, optimizer_cases
from nnspec.reference import catalogue


@pytest.mark.parametrize("optimizer", catalogue.optimizers())
@given(data=st.data())
def test_optimizer_steps_match_reference(checker, optimizer, data):
    """Every step from the reference's parameter and state: the parameter and every state array."""
    optimizer_checks.require(checker, optimizer, "per step")
    hyper, param, grads = data.draw(optimizer_cases(optimizer, checker.fmt), label="case")
    hyper = optimizer_checks.with_fixed(checker.backend, optimizer, hyper)
    try:
        comparisons = optimizer_checks.steps(checker.backend, optimizer, hyper, param, grads, checker.fmt)
    except (UnsupportedError, optimizer_checks.UnreachableState):
        assume(False)
    checker.expect(comparisons, optimizer_checks.case("optimizer_steps", optimizer, hyper, param, grads))


@pytest.mark.parametrize("optimizer", catalogue.optimizers())
@given(data=st.data())
def test_optimizer_trajectory_matches_reference(checker, optimizer, data):
    """Up to 10 free-running steps of a fresh optimizer, under budgets that grow with the step count."""
    optimizer_checks.require(checker, optimizer, "trajectory")
    hyper, param, grads = data.draw(optimizer_cases(optimizer, checker.fmt, max_steps=10), label="case")
    hyper = optimizer_checks.with_fixed(checker.backend, optimizer, hyper)
    try:
        comparisons = optimizer_checks.trajectory(checker.backend, optimizer, hyper, param, grads, checker.fmt)
    except (UnsupportedError, optimizer_checks.UnreachableState):
        assume(False)
    checker.expect(comparisons, optimizer_checks.case("optimizer_trajectory", optimizer, hyper, param, grads))


@pytest.mark.parametrize("optimizer", catalogue.optimizers())
def test_optimizer_every_term_matters(checker, optimizer):
    """Fixed cases under which every named convention of the optimizer gives a different result (the probes of
    ``nnspec identify``), checked per step, so that no term of the update is left to a random draw."""
    optimizer_checks.require(checker, optimizer, "every term")
    checked = 0
    for hyper, param, grads in discriminating_cases(optimizer, checker.fmt):
        hyper = optimizer_checks.with_fixed(checker.backend, optimizer, hyper)
        try:
            comparisons = optimizer_checks.steps(checker.backend, optimizer, hyper, param, grads, checker.fmt)
        except (UnsupportedError, optimizer_checks.UnreachableState):
            continue
        checked += 1
        checker.expect(comparisons, optimizer_checks.case("optimizer_steps", optimizer, hyper, param, grads))
    if not checked:
        pytest.skip(f"unsupported: {checker.backend.name} supports none of the fixed {optimizer} cases")
