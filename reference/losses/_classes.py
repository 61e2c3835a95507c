"""Class-indexed losses' shared inputs (softmax cross-entropy, NLL): the class axis, labels, class weights,
``ignore_index`` and what "mean" divides by.

Spec: docs/spec/losses.md#class-weights-and-ignore-index
"""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check

#: What "mean" divides a label loss by (docs/spec/losses.md#class-weights-and-ignore-index): the sum of the
#: weights of the kept targets (PyTorch) or their count (Keras's sum_over_batch_size with a mask, jnp.mean(where=)).
MEAN_DIVISORS = ("weight_sum", "kept_count")
#: Where a class weight multiplies the smoothed target: each class's own term (PyTorch) or the whole example's
#: loss, by the weight of its label (Keras, where class weights are sample weights).
SMOOTHING_WEIGHTS = ("per_class", "per_example")


def rows(function: str, name: str, x: object) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate ``x`` of shape (N, C, d1, ...), classes on axis 1; return it as rows (M, C), M = N * d1 * ...,
    and the shape of its per-element losses (N, d1, ...)."""
    x = check.float_array(function, name, x)
    if x.ndim < 2:
        raise ValueError(f"{function}: {name} must have shape (N, C) or (N, C, d1, ...), got {x.shape}")
    if x.shape[1] == 0:
        raise ValueError(f"{function}: {name} must have at least one class (shape (N, C, ...), C >= 1), got {x.shape}")
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]), x.shape[:1] + x.shape[2:]


def unrows(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``rows``: (M, C) back to (N, C, d1, ...) for losses of ``shape`` (N, d1, ...)."""
    return np.moveaxis(flat.reshape(shape + flat.shape[-1:]), -1, 1)


def labels(function: str, target: np.ndarray, shape: tuple[int, ...], classes: int,
           ignore_index: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate integer labels of ``shape``; return them flat (M,) with ignored ones set to 0, and ``kept`` (M,)."""
    check.check_shape(function, "target", target, shape)
    flat = target.reshape(-1)
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
        raise TypeError(f"{function}: ignore_index must be an int or None, got {type(ignore_index).__name__}")
    kept = np.ones(flat.shape, dtype=bool) if ignore_index is None else flat != ignore_index
    bad = kept & ((flat < 0) | (flat >= classes))
    if np.any(bad):
        also = "" if ignore_index is None else f" or equal ignore_index = {ignore_index}"
        raise ValueError(f"{function}: target labels must lie in [0, {classes - 1}]{also}, got {flat[bad][0]}")
    return np.where(kept, flat, 0), kept


def class_weights(function: str, weight: object, classes: int) -> np.ndarray:
    """Validate ``weight`` (None: every class weighs 1); return it as a float64 array of shape (C,), entries >= 0."""
    if weight is None:
        return np.ones(classes)
    if isinstance(weight, (list, tuple)):  # as the conformance suite hands it, in the JSON-able params
        weight = np.asarray(weight, dtype=np.float64)
    weight = check.float_array(function, "weight", weight)
    check.check_shape(function, "weight", weight, (classes,))
    if np.any(~(weight >= 0)):
        raise ValueError(f"{function}: weight must be >= 0 and not NaN, got {weight[~(weight >= 0)][0]}")
    return weight


def mean_divisor(function: str, mean_divisor: object, row_weight: np.ndarray, kept: np.ndarray) -> float:
    """What "mean" divides by: sum(row_weight) ("weight_sum") or the number of kept rows ("kept_count")."""
    mean_divisor = check.choice(function, "mean_divisor", mean_divisor, MEAN_DIVISORS)
    if mean_divisor == "weight_sum":
        return float(np.sum(row_weight[kept], dtype=np.float64))
    return float(np.count_nonzero(kept))
