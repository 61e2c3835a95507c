"""Inputs at which a correct computation once exceeded its budget: each is a bug of nnspec's error model, fixed
in the room, and pinned here with an exact value from mpmath (never from the code under test)."""

from __future__ import annotations

import mpmath
import numpy as np

from nnspec.conformance import budgets
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
                              {"reduction": "mean"}, "float32")["logits"]
    error = abs(float(observed[0]) - expected)
    assert error > 3 * 2.0**-24 * abs(expected), "the case no longer exercises the rearranged form's error"
    assert error <= budget[0], (error, budget[0])
