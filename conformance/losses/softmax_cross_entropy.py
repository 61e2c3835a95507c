"""Bounds of the softmax cross-entropy (reference/losses/softmax_cross_entropy.py), with integer labels or
probability targets (the catalogue's softmax_cross_entropy_probs) and label smoothing; built on log_softmax's.

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.activations import log_softmax as log_softmax_room
from nnspec.conformance.errormodel import IN_UNITS_OF_U, grad_scale, nan_safe_product, reduce_loss
from nnspec.reference import dtypes
from nnspec.reference.activations import log_softmax, softmax
from nnspec.reference.losses import softmax_cross_entropy


def _smoothed_targets(arrays: Mapping[str, np.ndarray], params: Mapping[str, object]) -> np.ndarray:
    x, target = arrays["logits"], np.asarray(arrays["target"])
    classes = x.shape[-1]
    eps = float(params.get("label_smoothing", 0.0))
    if target.dtype.kind in "iu":
        target = np.eye(classes)[target]
    return (1 - eps) * target + eps / classes


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """-sum_c q_c logp_c: each logp_c's own error, the smoothed target's rounding (3u), the C products and sum."""
    u = fmt.unit_roundoff
    x = arrays["logits"]
    q = _smoothed_targets(arrays, params)
    values = softmax_cross_entropy.forward(x, arrays["target"], reduction="none",
                                           label_smoothing=params.get("label_smoothing", 0.0))
    logp = np.abs(log_softmax.forward(x, axis=-1))
    out_error = log_softmax_room.forward_bound({"x": x}, {"axis": -1}, IN_UNITS_OF_U)
    classes = x.shape[-1]
    element = u * np.sum(nan_safe_product(q, out_error + (classes + 4) * logp), axis=-1)
    return reduce_loss(values, element, params.get("reduction", "mean"), x.shape[0], u)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """log_softmax's backward bound at the upstream gradient -q g / N, plus the smoothing and that scaling."""
    u = fmt.unit_roundoff
    x = arrays["logits"]
    q = _smoothed_targets(arrays, params)
    reduction = params.get("reduction", "mean")
    scale = grad_scale(grad, reduction, x.shape[0])
    if reduction == "none":
        scale = np.asarray(scale)[:, None]
    upstream = -q * scale  # the gradient reaching log_softmax
    inner = log_softmax_room.backward_bound({"x": x}, upstream, {"axis": -1}, fmt)["x"]
    return {"logits": inner + 4 * u * np.abs(upstream)}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """|d2 loss / d output2| applied to an error vector (the mean is over the N examples, the rows)."""
    scale = 1.0 / output.shape[0] if reduction == "mean" else 1.0
    p = softmax.forward(output, axis=-1)
    return scale * (p * error + p * np.sum(p * error, axis=-1, keepdims=True))
