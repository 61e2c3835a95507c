"""Bounds of sigmoid (reference/activations/sigmoid.py), relative to sigmoid(x) also for x << 0.

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS
from nnspec.reference import dtypes
from nnspec.reference.activations import sigmoid


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """(LIBM_ULPS + 2) u y: exp, one add, one divide; every term positive, no cancellation."""
    u = fmt.unit_roundoff
    y = sigmoid.forward(arrays["x"])
    return (LIBM_ULPS + 2) * u * y


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """g*y*(1-y) from the rounded y: y's own error (LIBM_ULPS + 2) u y enters both factors; 1 - y adds u, the
    two products 2u. Since (1 - y) + y = 1, the terms sum to a multiple of u*|g|*y."""
    u = fmt.unit_roundoff
    y = sigmoid.forward(arrays["x"])
    return {"x": (LIBM_ULPS + 6) * u * np.abs(grad) * y}


def second_derivative(z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)| = |s (1 - s) (1 - 2s)|, s = sigmoid(z): how much an error in z moves f'(z)."""
    s = sigmoid.forward(z)
    return np.abs(s * (1 - s) * (1 - 2 * s))
