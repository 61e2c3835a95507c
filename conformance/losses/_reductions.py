"""The reductions' share of a loss budget, with the conventions the common ``errormodel.reduce_loss`` does not
know: a first reduction of each sample over the last axis (Keras, ``last_axis``) and KL's "batchmean".

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance import errormodel


def _count(params: Mapping[str, object], shape: tuple[int, ...]) -> int:
    """What "mean" (or "batchmean", the first axis) divides by when there is no last-axis step."""
    if params.get("reduction", "mean") == "batchmean":
        return shape[0] if shape else 1
    return int(np.prod(shape))


def _reduction(params: Mapping[str, object]) -> str:
    reduction = params.get("reduction", "mean")
    return "mean" if reduction == "batchmean" else reduction


def reduce_loss(values: np.ndarray, element: np.ndarray, params: Mapping[str, object], u: float) -> np.ndarray:
    """``errormodel.reduce_loss`` of the per-element ``values`` and their ``element`` budgets; with ``last_axis``,
    first each sample's sum of d terms (gamma_{d-1} of their magnitudes) and, for "mean", its division by d
    (one u), then the reduction over the samples."""
    values, element = np.asarray(values, dtype=np.float64), np.asarray(element, dtype=np.float64)
    last_axis = params.get("last_axis")
    if last_axis is None:
        return errormodel.reduce_loss(values, element, _reduction(params), _count(params, values.shape), u)
    d = values.shape[-1]
    magnitude = np.sum(np.abs(values), axis=-1)
    samples = np.sum(values, axis=-1)
    budget = np.sum(element, axis=-1) + errormodel.gamma(max(d - 1, 0), u) * magnitude
    if last_axis == "mean":
        samples, budget = samples / d, budget / d + u * magnitude / d
    return errormodel.reduce_loss(samples, budget, _reduction(params), samples.size, u)


def grad_scale(grad: np.ndarray, params: Mapping[str, object], shape: tuple[int, ...]) -> np.ndarray:
    """The factor the upstream gradient brings to each element's gradient, broadcast to ``shape``: g / count
    ("mean"), g / shape[0] ("batchmean"); with ``last_axis`` a sample's g (/ its count), / d for "mean"."""
    last_axis = params.get("last_axis")
    if last_axis is None:
        scale = errormodel.grad_scale(grad, _reduction(params), _count(params, shape))
        return np.broadcast_to(scale, shape)
    samples = tuple(shape[:-1])
    scale = np.asarray(errormodel.grad_scale(grad, _reduction(params), int(np.prod(samples))))
    if last_axis == "mean":
        scale = scale / shape[-1]
    return np.broadcast_to(scale[..., None], shape)


def extra_roundings(params: Mapping[str, object]) -> int:
    """The roundings a last-axis "mean" adds to each gradient element: the division by d."""
    return 1 if params.get("last_axis") == "mean" else 0


def smoothed(target: np.ndarray, params: Mapping[str, object], u: float) -> tuple[np.ndarray, np.ndarray]:
    """Keras's smoothed target y (1 - e) + e / 2 and its rounding in the dtype: fl(1 - e), the product and the
    sum, at most 3u of it (docs/spec/losses.md#binary-label-smoothing). Unsmoothed: the target, exactly."""
    e = float(params.get("label_smoothing", 0.0))
    if e == 0:
        return target, np.zeros_like(target, dtype=np.float64)
    y = target * (1 - e) + 0.5 * e
    return y, 3 * u * np.abs(y)
