"""Bounds of tanh (reference/activations/tanh.py).

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS
from nnspec.reference import dtypes


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """LIBM_ULPS u |tanh x|: the library function's own error."""
    u = fmt.unit_roundoff
    return LIBM_ULPS * u * np.abs(np.tanh(arrays["x"]))


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """g*(1 - t^2): t's error LIBM_ULPS u |t| doubled by the square, carried by 2|t|; 1 - t^2 and the products
    add 3u. Since t^2 <= 1 everything is a multiple of u*|g|."""
    u = fmt.unit_roundoff
    return {"x": (2 * LIBM_ULPS + 4) * u * np.abs(grad)}


def second_derivative(z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)| = |2 t (1 - t^2)|, t = tanh(z)."""
    t = np.tanh(z)
    return np.abs(2 * t * (1 - t * t))
