"""Activations: forward and backward agree with the reference, the SymPy derivative, and the conventions.

Spec: docs/spec/activations.md
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.strategies.activations import activation_inputs, grad_outputs, special_points
from nnspec.reference import catalogue

ELEMENTWISE = [p.name for p in catalogue.PRIMITIVES if p.kind == "elementwise"]
SLOPES = st.sampled_from([0.01, 0.2, 0.0, -0.5, 1.5])


def _params(primitive: str, slope: float) -> dict[str, object]:
    return {"negative_slope": slope} if primitive == "leaky_relu" else {}


@pytest.mark.parametrize("primitive", ELEMENTWISE)
@given(data=st.data(), slope=SLOPES)
def test_elementwise_forward_matches_reference(checker, primitive, data, slope):
    checker.require(primitive, "forward")
    x = data.draw(activation_inputs(checker.fmt), label="x")
    checker.forward(primitive, {"x": x}, _params(primitive, slope))


@pytest.mark.parametrize("primitive", ELEMENTWISE)
@given(data=st.data(), slope=SLOPES)
def test_elementwise_backward_matches_reference(checker, primitive, data, slope):
    checker.require(primitive, "backward")
    x = data.draw(activation_inputs(checker.fmt), label="x")
    g = data.draw(grad_outputs(checker.fmt, x.shape), label="grad_output")
    checker.vjp(primitive, {"x": x}, g, _params(primitive, slope))


@pytest.mark.parametrize("primitive", ELEMENTWISE)
@given(data=st.data())
def test_elementwise_backward_matches_sympy(checker, primitive, data):
    """The backend's autodiff against the derivative SymPy derives from the spec's formula (exact, mpmath)."""
    checker.require(primitive, "backward vs SymPy")
    checker.vjp_oracle(primitive, data.draw(activation_inputs(checker.fmt), label="x"))


@pytest.mark.parametrize("primitive", ELEMENTWISE)
def test_elementwise_special_points(checker, primitive):
    """Zero, tiny, huge and infinite inputs: values and gradients as the spec pins them (relu'(0) = 0...)."""
    checker.require(primitive, "special points")
    x = special_points(checker.fmt)
    checker.forward(primitive, {"x": x})
    checker.vjp(primitive, {"x": x}, np.ones_like(x))


@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5])
def test_leaky_relu_derivative_at_zero_is_slope(checker, slope):
    checker.require("leaky_relu", "derivative at 0")
    x = np.zeros(3)
    checker.vjp("leaky_relu", {"x": x}, np.array([1.0, -2.0, 0.5]), {"negative_slope": slope})
