"""Bounds of relu (reference/activations/relu.py): exact both ways. Not smooth at 0, so a network bound does not
take it (no ``second_derivative``).

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.reference import dtypes


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """max(x, 0) is exact."""
    return np.zeros_like(arrays["x"])


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """g or 0, exactly."""
    return {"x": np.zeros_like(grad)}
