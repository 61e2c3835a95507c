"""Bounds of softmax (reference/activations/softmax.py), and the relative error factor that log_softmax and the
cross-entropy build on.

Spec: docs/spec/error-budgets.md#softmax
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, nan_safe_product
from nnspec.reference import dtypes
from nnspec.reference.activations import softmax


def relative_error_factor(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax y and F, the relative error factor of y in units of u.

    d = x - max is rounded (relative error of exp(d): |d| u), exp adds LIBM_ULPS u, the sum of C terms
    gamma_C, its terms' own errors sum(y_j |d_j|) + LIBM_ULPS, the division one more u.
    """
    y = softmax.forward(x, axis=axis)
    d = np.abs(x - np.max(x, axis=axis, keepdims=True))
    d = np.where(np.isfinite(d), d, 0.0)
    classes = x.shape[axis]
    spread = np.sum(nan_safe_product(y, d), axis=axis, keepdims=True)
    return y, d + spread + classes + 2 * LIBM_ULPS + 1


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """u y F: relative to each output."""
    u = fmt.unit_roundoff
    y, factor = relative_error_factor(arrays["x"], params.get("axis", -1))
    return u * y * factor


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """grad_i = y_i (g_i - s), s = sum_j g_j y_j: y_i's error, s's error (each y_j's error plus the sum), and the
    subtraction and product."""
    u = fmt.unit_roundoff
    axis = params.get("axis", -1)
    y, factor = relative_error_factor(arrays["x"], axis)
    classes = arrays["x"].shape[axis]
    s = np.sum(grad * y, axis=axis, keepdims=True)
    weighted = np.sum(np.abs(grad) * y * (factor + classes), axis=axis, keepdims=True)
    return {"x": u * y * (factor * np.abs(grad - s) + weighted + np.abs(grad) + np.abs(s))}


def rounding_effect(x: np.ndarray, shifted: np.ndarray, axis: int = -1) -> np.ndarray:
    """How softmax moves when the row x + c is rounded to ``shifted``: exactly softmax(shifted) - softmax(x)
    (softmax(shifted) = softmax(x + delta), delta the rounding), in float64, whose own error the two forward
    budgets already hold. A first-order Jacobian bound is not enough: in float16, x + 1e4 moves a logit by up
    to 8 (half an ulp at 2e4), which changes softmax by e^8, not linearly."""
    return softmax.forward(shifted, axis=axis) - softmax.forward(x, axis=axis)
