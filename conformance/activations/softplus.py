"""Bounds of softplus (reference/activations/softplus.py), 0 on the linear branch of the threshold variant.

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS
from nnspec.reference import dtypes
from nnspec.reference.activations import sigmoid


def _linear(x: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """Where the threshold variant returns x itself (exactly)."""
    threshold = params.get("threshold")
    return np.zeros_like(x, dtype=bool) if threshold is None else x > threshold


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """(2 LIBM_ULPS + 1) u y: exp then log1p, each relative to y."""
    u = fmt.unit_roundoff
    x = arrays["x"]
    y = np.logaddexp(x, 0.0)
    return np.where(_linear(x, params), 0.0, (2 * LIBM_ULPS + 1) * u * y)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """g * sigmoid(x): sigmoid's error and the product."""
    u = fmt.unit_roundoff
    x = arrays["x"]
    s = sigmoid.forward(x)
    return {"x": np.where(_linear(x, params), 0.0, (LIBM_ULPS + 4) * u * np.abs(grad) * s)}


def second_derivative(z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)| = s (1 - s), s = sigmoid(z); 0 on the linear branch."""
    s = sigmoid.forward(z)
    second = s * (1 - s)
    threshold = params.get("threshold")
    return np.abs(np.where(z > threshold, 0.0, second) if threshold is not None else second)
