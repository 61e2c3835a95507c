"""Bounds of the softmax cross-entropy (reference/losses/softmax_cross_entropy.py), with integer labels or
probability targets (the catalogue's softmax_cross_entropy_probs), label smoothing, class weights, ignore_index
and inputs of shape (N, C, d1, ...); built on log_softmax's.

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.activations import log_softmax as log_softmax_room
from nnspec.conformance.errormodel import IN_UNITS_OF_U, gamma, nan_safe_product
from nnspec.reference import dtypes
from nnspec.reference.activations import log_softmax, softmax
from nnspec.reference.losses import softmax_cross_entropy


def rows_of(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) as rows (M, C), the class axis last (the reference's layout, docs/spec/losses.md)."""
    return np.moveaxis(np.asarray(x), 1, -1).reshape(-1, np.shape(x)[1])


def coefficients(arrays: Mapping[str, np.ndarray], params: Mapping[str, object]) -> tuple[np.ndarray, float]:
    """Each row's class coefficients a = w q (ignored rows 0), shape (M, C), and what "mean" divides by."""
    x, target = rows_of(arrays["logits"]), np.asarray(arrays["target"])
    classes = x.shape[-1]
    eps = float(params.get("label_smoothing", 0.0))
    w = np.ones(classes) if params.get("weight") is None else np.asarray(params["weight"], dtype=np.float64)
    if target.dtype.kind not in "iu":
        return ((1 - eps) * rows_of(target) + eps / classes) * w, float(x.shape[0])
    labels = target.reshape(-1)
    kept = labels != params["ignore_index"] if params.get("ignore_index") is not None else np.ones(labels.shape, bool)
    labels = np.where(kept, labels, 0)
    row_weight = np.where(kept, w[labels], 0.0)
    q = (1 - eps) * np.eye(classes)[labels] + eps / classes
    scale = row_weight[:, None] if params.get("smoothing_weight") == "per_example" else w[None, :]
    divisor = np.sum(row_weight) if params.get("mean_divisor", "weight_sum") == "weight_sum" else np.sum(kept)
    return np.where(kept[:, None], scale * q, 0.0), float(divisor)


def reduce_rows(values: np.ndarray, element: np.ndarray, params: Mapping[str, object], divisor: float,
                u: float) -> np.ndarray:
    """Carry the per-row budgets through the reduction: the sum of M terms adds gamma_{M-1} times their
    magnitudes; "mean" divides by D (one rounding), plus gamma_{M-1} for D itself when it is a sum of M class
    weights, plus 2u where the framework scales the kept rows ("kept_count" with ignore_index: Keras multiplies
    each by total/valid, then divides by total)."""
    reduction = params.get("reduction", "mean")
    if reduction == "none":
        return element
    m = values.size
    magnitude = np.sum(np.abs(values))
    result = np.sum(element) + gamma(max(m - 1, 0), u) * magnitude
    if reduction == "sum":
        return result
    return (result + divisor_error(params, m, u) * magnitude) / divisor


def divisor_error(params: Mapping[str, object], m: int, u: float) -> float:
    """The relative error of dividing by D (see ``reduce_rows``)."""
    weighted = gamma(max(m - 1, 0), u) if params.get("weight") is not None else 0.0
    scaled = 2 * u if params.get("mean_divisor") == "kept_count" and params.get("ignore_index") is not None else 0.0
    return u + weighted + scaled


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """-sum_c a_c logp_c: each logp_c's own error, the coefficient's rounding (q: 3u, w q: one more), the C
    products and their sum."""
    u = fmt.unit_roundoff
    x = rows_of(arrays["logits"])
    a, divisor = coefficients(arrays, params)
    names = ("label_smoothing", "weight", "ignore_index", "smoothing_weight", "mean_divisor")
    values = softmax_cross_entropy.forward(arrays["logits"], arrays["target"], reduction="none",
                                           **{k: params[k] for k in names if k in params}).reshape(-1)
    logp = np.abs(log_softmax.forward(x, axis=-1))
    out_error = log_softmax_room.forward_bound({"x": x}, {"axis": -1}, IN_UNITS_OF_U)
    classes = x.shape[-1]
    roundings = classes + (5 if params.get("weight") is not None else 4)  # the sum, q, and w q
    element = u * np.sum(nan_safe_product(np.abs(a), out_error + roundings * logp), axis=-1)
    reduction = params.get("reduction", "mean")
    bound = reduce_rows(values, element, params, divisor, u)
    return bound.reshape(np.shape(arrays["target"])[:1] + np.shape(arrays["logits"])[2:]) if reduction == "none" \
        else bound


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """log_softmax's backward bound at the upstream gradient -a g / D, plus the coefficients' rounding, that
    scaling, and D's own error when it is a sum of M weights."""
    u = fmt.unit_roundoff
    logits = np.asarray(arrays["logits"])
    x = rows_of(logits)
    a, divisor = coefficients(arrays, params)
    reduction = params.get("reduction", "mean")
    g = np.asarray(grad, dtype=np.float64)
    scale = g.reshape(-1)[:, None] if reduction == "none" else (g / divisor if reduction == "mean" else g)
    upstream = -a * scale  # the gradient reaching log_softmax
    inner = log_softmax_room.backward_bound({"x": x}, upstream, {"axis": -1}, fmt)["x"]
    extra = divisor_error(params, x.shape[0], u) - u if reduction == "mean" else 0.0
    rows = inner + (4 * u + (u if params.get("weight") is not None else 0.0) + extra) * np.abs(upstream)
    return {"logits": np.moveaxis(rows.reshape(logits.shape[:1] + logits.shape[2:] + logits.shape[1:2]), -1, 1)}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """|d2 loss / d output2| applied to an error vector (the mean is over the N examples, the rows)."""
    scale = 1.0 / output.shape[0] if reduction == "mean" else 1.0
    p = softmax.forward(output, axis=-1)
    return scale * (p * error + p * np.sum(p * error, axis=-1, keepdims=True))


#: Per convention of the class-weighted cross-entropy, a fixed case (arrays, params) under which its values give
#: different results (`nnspec identify`; docs/spec/losses.md#class-weights-and-ignore-index): weights 1 and 3 make
#: the kept weights' sum 4 and their count 2; with smoothing, w_c q_c and w_label q_c differ on every class.
PROBES: dict[str, tuple[dict[str, np.ndarray], dict[str, object]]] = {
    "mean_divisor": ({"logits": np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.5]]), "target": np.array([0, 1, -100])},
                     {"weight": [1.0, 3.0], "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}),
    "smoothing_weight": ({"logits": np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]]), "target": np.array([0, 2])},
                         {"weight": [1.0, 2.0, 4.0], "reduction": "none", "label_smoothing": 0.25}),
}
