"""Bounds of binary cross-entropy on logits (reference/losses/binary_cross_entropy_with_logits.py).

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, grad_scale, reduce_loss
from nnspec.reference import dtypes
from nnspec.reference.activations import sigmoid
from nnspec.reference.losses import binary_cross_entropy_with_logits as bce


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """max(x,0) - x*y + log1p(exp(-|x|)) (or an equivalent rearrangement): the terms |x| and |x*y| cancel for
    saturated logits, so their rounding is an absolute error; log1p(exp(.)) <= log 2 adds 2 LIBM_ULPS."""
    u = fmt.unit_roundoff
    x, y = arrays["logits"], arrays["target"]
    values = bce.forward(x, y, reduction="none")
    finite_x = np.where(np.isfinite(x), np.abs(x), 0.0)
    element = u * (3 * finite_x * (1 + np.abs(y)) + (2 * LIBM_ULPS + 2) * np.log(2.0)
                   + np.abs(np.where(np.isfinite(values), values, 0.0)))
    return reduce_loss(values, element, params.get("reduction", "mean"), np.asarray(arrays["logits"]).size, u)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """(sigmoid(x) - y) * g / n, evaluated either as written (sigmoid's error, the subtraction, two products) or
    as (1 - y) * sigmoid(x) - y * sigmoid(-x), the rearrangement without cancellation for hard targets (the
    reference's). There sigmoid(-x) carries its own error, weighted by y: 1 / (1 + exp(x)) for x < 0 (two
    roundings, and exp's L ulps scaled by sigmoid(x) < 1/2), exp(-x) / (1 + exp(-x)) for x > 0 (L + 2 ulps); and
    each product one rounding. For a soft target (y = 0.5) that error is as large as the result's rounding:
    float32 at x = -8.13, y = 0.5 reaches 3.2 u of the gradient, past the first form's 3 u."""
    u = fmt.unit_roundoff
    x, y = arrays["logits"], arrays["target"]
    scale = grad_scale(grad, params.get("reduction", "mean"), x.size)
    s = sigmoid.forward(x)
    s_minus = sigmoid.forward(-x)
    s_minus_ulps = 2 + LIBM_ULPS * np.minimum(1.0, 2 * s)
    products = (1 - y) * s + y * s_minus
    return {"logits": u * np.abs(scale) * ((LIBM_ULPS + 2) * s + s_minus_ulps * y * s_minus + products
                                           + 3 * np.abs(s - y))}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """|d2 loss / d output2| applied to an error vector: sigmoid'(x) times it."""
    scale = 1.0 / output.size if reduction == "mean" else 1.0
    s = sigmoid.forward(output)
    return scale * s * (1 - s) * error
