"""Bounds of leaky_relu (reference/activations/leaky_relu.py): the slope rounded to the dtype, then one product.
Not smooth at 0, so a network bound does not take it (no ``second_derivative``).

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.reference import dtypes


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """2u |slope x| for x <= 0 (the slope rounded to the dtype, then one product); x itself above 0."""
    u = fmt.unit_roundoff
    x, slope = arrays["x"], params.get("negative_slope", 0.01)
    return np.where(x > 0, 0.0, 2 * u * np.abs(slope * x))


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """2u |slope g| for x <= 0, as the forward."""
    u = fmt.unit_roundoff
    slope = params.get("negative_slope", 0.01)
    return {"x": np.where(arrays["x"] > 0, 0.0, 2 * u * np.abs(slope * grad))}
