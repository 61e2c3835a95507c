"""Bounds of identity (reference/activations/identity.py): exact both ways.

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.reference import dtypes


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """y = x is exact."""
    return np.zeros_like(arrays["x"])


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """The gradient is passed through exactly."""
    return {"x": np.zeros_like(grad)}


def second_derivative(z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)| = 0: an error in z does not move f'(z)."""
    return np.zeros_like(z)
