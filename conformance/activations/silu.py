"""Bounds of silu (reference/activations/silu.py), x * sigmoid(x), relative to its terms also for x << 0.

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, flushed_products
from nnspec.reference import dtypes
from nnspec.reference.activations import sigmoid, silu


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """(LIBM_ULPS + 3) u |y|: sigmoid's own (LIBM_ULPS + 2) u s (or exp, 1 + e and x / (1 + e) directly), and the
    product x * s; x is exact and every factor has one sign, so there is no cancellation."""
    u = fmt.unit_roundoff
    return (LIBM_ULPS + 3) * u * np.abs(silu.forward(arrays["x"]))


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """g * (s + x s (1 - s)), or g * s * (1 + x (1 - s)): the two terms cancel for x < 0, so the bound is
    relative to their magnitudes A = s + |x| s (1 - s), not to the derivative. s's error (LIBM_ULPS + 2) u s
    enters the first term (at most A times it in the factored form) and, through 1 - s, the second carried by
    |x| s; 1 - s, the products, the sum and the product with g add 6 roundings of at most u A each."""
    u = fmt.unit_roundoff
    x = arrays["x"]
    s, ds = sigmoid.forward(x), sigmoid.backward(x, np.ones_like(x))
    with np.errstate(invalid="ignore"):  # inf * 0 at x = +-inf: a NaN bound, read as "exact" by the comparison
        terms = (LIBM_ULPS + 8) * (s + np.abs(x) * ds) + (LIBM_ULPS + 2) * np.abs(x) * s
    flushed = flushed_products(4, np.maximum(1.0, np.abs(x)), fmt)  # g s (1 - s) flushed, then times x
    return {"x": u * np.abs(grad) * terms + flushed}


def second_derivative(z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)| = s (1 - s) |2 + z (1 - 2s)|, s = sigmoid(z): how much an error in z moves f'(z)."""
    s, ds = sigmoid.forward(z), sigmoid.backward(z, np.ones_like(z))
    with np.errstate(invalid="ignore"):
        return np.where(ds == 0, 0.0, np.abs(ds * (2 + z * (1 - 2 * s))))
