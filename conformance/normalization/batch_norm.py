"""Bounds of batch_norm (reference/normalization/batch_norm.py): the shared analysis of standardizing
each channel over the batch axis 0 (conformance/normalization/_bounds.py).

Spec: docs/spec/error-budgets.md#normalization
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.normalization import _bounds
from nnspec.reference import dtypes
from nnspec.reference.normalization.batch_norm import DEFAULT_EPS

AXIS = 0


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """The mean's and the variance's roundings carried through 1/sqrt(variance + eps), scale and shift."""
    return _bounds.forward_bound(arrays["x"], arrays["weight"], arrays["bias"], params.get("eps", DEFAULT_EPS),
                                 AXIS, fmt)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """grad_x through the two means of the VJP; grad_weight and grad_bias as sums over the other axis."""
    return _bounds.backward_bound(arrays["x"], arrays["weight"], grad, params.get("eps", DEFAULT_EPS), AXIS, fmt)
