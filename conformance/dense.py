"""Bounds of the dense layer (reference/dense.py): dot products under gamma_n, each rounding with its possible
underflow of one smallest normal (flush-to-zero hardware, e.g. XLA on CPU, flushes subnormal products).

Spec: docs/spec/error-budgets.md#dense
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import gamma
from nnspec.reference import dtypes


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """A dot product of length K, plus the bias: gamma_{K+1} times the magnitudes, and K + 1 smallest normals."""
    u = fmt.unit_roundoff
    x, w, b = arrays["x"], arrays["weight"], arrays.get("bias")
    magnitude = np.abs(x) @ np.abs(w) + (0.0 if b is None else np.abs(b))
    return gamma(w.shape[0] + 1, u) * magnitude + (w.shape[0] + 1) * fmt.tiny


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """g W^T (J terms), x^T g and the bias's sum over the batch: the roundings as in the forward."""
    u = fmt.unit_roundoff
    x, w, b = arrays["x"], arrays["weight"], arrays.get("bias")
    g = np.asarray(grad, dtype=np.float64)
    batch = 1 if x.ndim == 1 else x.shape[0]
    grads = {
        "x": gamma(w.shape[1], u) * (np.abs(g) @ np.abs(w).T) + w.shape[1] * fmt.tiny,
        "weight": gamma(batch, u) * (np.outer(np.abs(x), np.abs(g)) if x.ndim == 1 else np.abs(x).T @ np.abs(g))
        + batch * fmt.tiny,
    }
    if b is not None:
        grads["bias"] = (gamma(batch, u) * (np.abs(g) if g.ndim == 1 else np.sum(np.abs(g), axis=0))
                         + batch * fmt.tiny)
    return grads
