"""Bounds of the negative log-likelihood (reference/losses/nll_loss.py): one product per kept row, the sum, and
what "mean" divides by (shared with the softmax cross-entropy's room).

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.losses.softmax_cross_entropy import divisor_error, reduce_rows
from nnspec.reference import dtypes
from nnspec.reference.losses import nll_loss

_OPTIONS = ("weight", "ignore_index", "mean_divisor")


def _kept_weights(arrays: Mapping[str, np.ndarray], params: Mapping[str, object]) -> tuple[np.ndarray, float]:
    """Each row's weight w[label] (0 when ignored), shape (M,), and what "mean" divides by."""
    labels = np.asarray(arrays["target"]).reshape(-1)
    classes = np.shape(arrays["log_probs"])[1]
    w = np.ones(classes) if params.get("weight") is None else np.asarray(params["weight"], dtype=np.float64)
    kept = labels != params["ignore_index"] if params.get("ignore_index") is not None else np.ones(labels.shape, bool)
    row_weight = np.where(kept, w[np.where(kept, labels, 0)], 0.0)
    divisor = np.sum(row_weight) if params.get("mean_divisor", "weight_sum") == "weight_sum" else np.sum(kept)
    return row_weight, float(divisor)


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """-w[label] * log_probs[label]: one rounding of the product when there are weights (none without), then
    the reduction."""
    u = fmt.unit_roundoff
    values = nll_loss.forward(arrays["log_probs"], arrays["target"], reduction="none",
                              **{k: params[k] for k in _OPTIONS if k in params})
    _, divisor = _kept_weights(arrays, params)
    element = (u if params.get("weight") is not None else 0.0) * np.abs(values)
    return reduce_rows(values.reshape(-1), element.reshape(-1), params, divisor, u).reshape(
        values.shape if params.get("reduction", "mean") == "none" else ())


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """-w[label] * g / D at the label's entry: the product and, under "mean", the division and D's own error."""
    u = fmt.unit_roundoff
    expected = nll_loss.backward(arrays["log_probs"], arrays["target"], grad,
                                 **{k: params[k] for k in (*_OPTIONS, "reduction") if k in params})
    row_weight, _ = _kept_weights(arrays, params)
    reduction = params.get("reduction", "mean")
    relative = (u if params.get("weight") is not None else 0.0) + (
        divisor_error(params, row_weight.size, u) if reduction == "mean" else 0.0)
    return {"log_probs": relative * np.abs(expected)}
