"""Bounds of binary cross-entropy on logits (reference/losses/binary_cross_entropy_with_logits.py).

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS
from nnspec.conformance.losses import _reductions
from nnspec.reference import dtypes
from nnspec.reference.activations import sigmoid
from nnspec.reference.losses import binary_cross_entropy_with_logits as bce


def _weight(params: Mapping[str, object]) -> np.ndarray | float:
    """pos_weight as an array broadcast over the last axis (1 when not given)."""
    weight = params.get("pos_weight")
    return 1.0 if weight is None else np.asarray(weight, dtype=np.float64)


def _softplus(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """max(x,0) - x*y + log1p(exp(-|x|)) (or an equivalent rearrangement): the terms |x| and |x*y| cancel for
    saturated logits, so their rounding is an absolute error; log1p(exp(.)) <= log 2 adds 2 LIBM_ULPS. With
    ``pos_weight`` w (PyTorch's (1 - y) x - (1 + (w - 1) y) log sigmoid(x)) the positive term is w y times as
    large, and so is its share of the cancellation. A smoothed target's rounding moves the loss by
    |d loss / d y| = |w softplus(-x) - softplus(x)| <= w softplus(-x) + softplus(x) per unit."""
    u = fmt.unit_roundoff
    x = arrays["logits"]
    y, target_error = _reductions.smoothed(arrays["target"], params, u)
    w = _weight(params)
    values = bce.forward(x, y, reduction="none", pos_weight=params.get("pos_weight"))
    finite_x = np.where(np.isfinite(x), np.abs(x), 0.0)
    element = u * (3 * finite_x * (1 + np.abs(y) * (1 + w)) + (2 * LIBM_ULPS + 2) * np.log(2.0) * (1 + w * y)
                   + 2 * np.abs(np.where(np.isfinite(values), values, 0.0)))
    moved = target_error * (w * _softplus(-x) + _softplus(x))
    element = element + np.where(np.isfinite(moved), moved, 0.0)
    return _reductions.reduce_loss(values, element, params, u)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """(sigmoid(x) - y) * g / n, evaluated either as written (sigmoid's error, the subtraction, two products) or
    as (1 - y) * sigmoid(x) - y * sigmoid(-x), the rearrangement without cancellation for hard targets (the
    reference's). There sigmoid(-x) carries its own error, weighted by y: 1 / (1 + exp(x)) for x < 0 (two
    roundings, and exp's L ulps scaled by sigmoid(x) < 1/2), exp(-x) / (1 + exp(-x)) for x > 0 (L + 2 ulps); and
    each product one rounding. For a soft target (y = 0.5) that error is as large as the result's rounding:
    float32 at x = -8.13, y = 0.5 reaches 3.2 u of the gradient, past the first form's 3 u."""
    u = fmt.unit_roundoff
    x = arrays["logits"]
    y, target_error = _reductions.smoothed(arrays["target"], params, u)
    w = _weight(params)
    scale = _reductions.grad_scale(grad, params, x.shape)
    s = sigmoid.forward(x)
    s_minus = sigmoid.forward(-x)
    s_minus_ulps = 2 + LIBM_ULPS * np.minimum(1.0, 2 * s)
    products = (1 - y) * s + w * y * s_minus
    exact = np.abs((1 - y) * s - w * y * s_minus)
    bound = (LIBM_ULPS + 2) * s + s_minus_ulps * w * y * s_minus + products + 3 * np.abs(s - y)
    if params.get("pos_weight") is not None:  # PyTorch's s (1 + (w - 1) y) - w y: five roundings, cancelling
        bound = bound + 5 * (s * (1 + np.abs(w - 1) * y) + w * y) + (LIBM_ULPS + 2) * s * np.abs(w - 1) * y
    bound = bound + _reductions.extra_roundings(params) * exact
    return {"logits": u * np.abs(scale) * bound + np.abs(scale) * target_error * (s + w * s_minus)}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """|d2 loss / d output2| applied to an error vector: sigmoid'(x) times it."""
    scale = 1.0 / output.size if reduction == "mean" else 1.0
    s = sigmoid.forward(output)
    return scale * s * (1 - s) * error
