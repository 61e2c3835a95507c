"""Bounds of the mean squared error (reference/losses/mean_squared_error.py).

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import flushed_products
from nnspec.conformance.losses import _reductions
from nnspec.reference import dtypes
from nnspec.reference.losses import mean_squared_error


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """(p - t)^2: the subtraction and the square, 3u of each term; then the reduction."""
    u = fmt.unit_roundoff
    values = mean_squared_error.forward(arrays["prediction"], arrays["target"], reduction="none")
    return _reductions.reduce_loss(values, 3 * u * values, params, u)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """2 (p - t) g / n: the subtraction, *2, *g, /n (and / d for a last-axis mean); the scalings of g may be
    flushed below the smallest normal before 2 (p - t) multiplies them (docs/spec/error-budgets.md#underflow)."""
    u = fmt.unit_roundoff
    pred, target = arrays["prediction"], arrays["target"]
    scale = _reductions.grad_scale(grad, params, pred.shape)
    ops = 4 + _reductions.extra_roundings(params)
    slope = np.abs(2 * (pred - target))
    return {"prediction": ops * u * slope * np.abs(scale) + flushed_products(2, np.maximum(1.0, slope), fmt)}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """|d2 loss / d output2| applied to an error vector: how an error in the output moves dloss/doutput."""
    scale = 1.0 / output.size if reduction == "mean" else 1.0
    return 2 * scale * error
