"""The framework conventions of gelu and leaky_relu (docs/spec/activations.md#gelu-float32-constants,
#leaky-relu-float32-slope) and gelu's signed zero: the reference against the SymPy/mpmath oracle, within the
float64 budgets of nnspec.conformance.budgets.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.conformance import budgets
from nnspec.conformance.oracles import activations as oracle
from nnspec.reference import dtypes
from nnspec.reference.activations import gelu, leaky_relu

X = np.array([-30.0, -5.0, -1.5, -0.75, -1e-3, 0.0, 0.3, 1.0, 4.0, 12.0])


@pytest.mark.parametrize(("name", "approximate"), [("gelu", "none"), ("gelu_tanh", "tanh")])
def test_gelu_float32_constants_is_the_oracles_variant(name, approximate):
    params = {"approximate": approximate, "float32_constants": True}
    forward_budget = budgets.forward("gelu", {"x": X}, params, dtypes.FLOAT64)
    backward_budget = budgets.backward("gelu", {"x": X}, np.ones_like(X), params, dtypes.FLOAT64)["x"]
    exact = oracle.values(name, X, float32_constants=True)
    assert np.all(np.abs(gelu.forward(X, approximate, float32_constants=True) - exact) <= forward_budget)
    derivative = oracle.derivatives(name, X, float32_constants=True)
    observed = gelu.backward(X, np.ones_like(X), approximate, float32_constants=True)
    assert np.all(np.abs(observed - derivative) <= backward_budget)
    # a different function: the spec's gelu is outside the variant's float64 budget somewhere
    assert np.any(np.abs(gelu.forward(X, approximate) - exact) > forward_budget)


def test_leaky_relu_float32_slope_is_the_rounded_slope():
    x = np.array([-3.0, -1.0, 0.0, 2.0])
    rounded = float(np.float32(0.1))
    assert np.array_equal(leaky_relu.forward(x, 0.1, float32_slope=True), np.where(x > 0, x, rounded * x))
    assert np.array_equal(leaky_relu.backward(x, np.ones(4), 0.1, float32_slope=True), [rounded, rounded, rounded, 1])
    assert np.array_equal(oracle.derivatives("leaky_relu", x, negative_slope=0.1, float32_slope=True),
                          [rounded, rounded, rounded, 1])


@pytest.mark.parametrize("call", [lambda: gelu.forward(X, float32_constants=1),
                                  lambda: gelu.backward(X, X, float32_constants="yes"),
                                  lambda: leaky_relu.forward(X, float32_slope=None)])
def test_convention_flags_must_be_bools(call):
    with pytest.raises(TypeError, match=r"\.(forward|backward): float32_(constants|slope) must be a bool"):
        call()


@pytest.mark.parametrize(("approximate", "x"), [("none", [-38.5, -40.0, -1e300, -np.inf]),
                                                ("tanh", [-21.6, -25.0, -1e300, -np.inf])])
def test_gelu_is_minus_zero_where_it_underflows(approximate, x):
    """x * Phi(x) < 0 below the smallest subnormal rounds to -0 (and the limit at -inf is approached from below)."""
    y = gelu.forward(np.array(x), approximate)
    assert np.all(y == 0) and np.all(np.signbit(y))
