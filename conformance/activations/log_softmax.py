"""Bounds of log_softmax (reference/activations/log_softmax.py): absolute, so they stay meaningful where the
output is near 0; built on softmax's relative error factor.

Spec: docs/spec/error-budgets.md#softmax
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.activations import softmax as softmax_room
from nnspec.conformance.errormodel import IN_UNITS_OF_U, LIBM_ULPS
from nnspec.reference import dtypes
from nnspec.reference.activations import log_softmax, softmax


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """y_i = d_i - lse: rounding of d_i, the relative error of the sum (an absolute error of its log), log's own
    error, the final subtraction."""
    u = fmt.unit_roundoff
    x, axis = arrays["x"], params.get("axis", -1)
    y, factor = softmax_room.relative_error_factor(x, axis)
    d = np.abs(x - np.max(x, axis=axis, keepdims=True))
    d = np.where(np.isfinite(d), d, 0.0)
    lse = np.log(np.sum(np.exp(-d), axis=axis, keepdims=True))  # log sum exp(x - max), in [0, log C]
    out = np.abs(log_softmax.forward(x, axis=axis))
    out = np.where(np.isfinite(out), out, 0.0)
    spread = factor - d - 1  # sum-related part of the softmax factor: spread + C + 2 LIBM_ULPS
    return u * (d + spread + LIBM_ULPS * lse + out)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """grad_i = g_i - exp(out_i) * sum(g): exp of the rounded output (relative error out_error + LIBM_ULPS), the
    sum of C terms, the product and the subtraction."""
    u = fmt.unit_roundoff
    x, axis = arrays["x"], params.get("axis", -1)
    y = softmax.forward(x, axis=axis)
    out_error = forward_bound(arrays, params, IN_UNITS_OF_U)  # forward budget in units of u
    classes = x.shape[axis]
    total = np.sum(grad, axis=axis, keepdims=True)
    total_abs = np.sum(np.abs(grad), axis=axis, keepdims=True)
    return {"x": u * (y * np.abs(total) * (out_error + LIBM_ULPS + 2) + y * classes * total_abs + np.abs(grad))}
