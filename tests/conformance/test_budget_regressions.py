"""Inputs at which a correct computation once exceeded its budget: each is a bug of nnspec's error model, fixed
in the room, and pinned here with an exact value from mpmath (never from the code under test)."""

from __future__ import annotations

import mpmath
import numpy as np

from nnspec.conformance import budgets
from nnspec.reference import dtypes
from nnspec.reference.losses import binary_cross_entropy_with_logits as bce


def _exact_bce_logits_gradient(x: float, y: float, g: float, n: int) -> float:
    with mpmath.workdps(50):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(x)))
        return float((s - y) * g / n)


def test_bce_with_logits_gradient_budget_covers_the_rearranged_form_at_a_soft_target():
    """float32, logits -8.1257 (exact in float32), target 0.5, upstream gradient 0.875, mean over 3: the
    reference's (1 - y) sigmoid(x) - y sigmoid(-x) is 3.2 u away, past the 3 u of sigmoid(x) - y alone."""
    x = np.array([float.fromhex("-0x1.04064p+3"), 0.0, 0.0])
    y = np.array([0.5, 0.0, 0.0])
    observed = bce.backward(x.astype(np.float32), y.astype(np.float32), np.float32(0.875), reduction="mean")
    expected = _exact_bce_logits_gradient(x[0], 0.5, 0.875, 3)
    budget = budgets.backward("binary_cross_entropy_with_logits", {"logits": x, "target": y}, np.asarray(0.875),
                              {"reduction": "mean"}, dtypes.FORMATS["float32"])["logits"]
    error = abs(float(observed[0]) - expected)
    assert error > 3 * 2.0**-24 * abs(expected), "the case no longer exercises the rearranged form's error"
    assert error <= budget[0], (error, budget[0])


def _exact_gelu_tanh_derivative(x: float) -> float:
    with mpmath.workdps(50):
        x, k, c = mpmath.mpf(x), mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
        t = mpmath.tanh(k * (x + c * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x)


def test_gelu_tanh_gradient_budget_covers_a_flushed_product_at_a_tiny_upstream_gradient():
    """TensorFlow 2.21 float32 (CPU, oneDNN), x = 4.5, g = 3.477e-33 (found by `ci/false_alarms.py`, seed 12, in
    the NaN test): g (1 - t^2) falls below float32's smallest normal and is flushed, then scaled by 0.5 x slope;
    the gradient 3.477010903344568e-33 is 6.6 smallest normals off, past the old floor of 2."""
    g = float(np.float32(3.476987026115567e-33))
    observed = float(np.float32(3.477010903344568e-33))  # TensorFlow's value, a float32 number
    expected = float(_exact_gelu_tanh_derivative(4.5) * g)
    budget = budgets.backward("gelu_tanh", {"x": np.array([4.5])}, np.array([g]), {"approximate": "tanh"},
                              dtypes.FORMATS["float32"])["x"]
    error = abs(observed - expected)
    assert error > 2 * 2.0**-126, "the case no longer exceeds the flat underflow floor"
    assert error <= budget[0], (error, budget[0])
