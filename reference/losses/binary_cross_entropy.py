"""Binary cross-entropy of probabilities: loss = -(target*log(probability) + (1-target)*log(1-probability))."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.losses import _reduction


def _inputs(function: str, probability: object, target: object) -> tuple[np.ndarray, np.ndarray]:
    probability = check.float_array(function, "probability", probability)
    target = check.float_array(function, "target", target)
    check.same_shape(function, "target", target, "probability", probability)
    _reduction.check_range(function, "probability", probability, 0, 1)
    _reduction.check_range(function, "target", target, 0, 1)
    return probability, target


def _clip(function: str, probability: np.ndarray, clip_probability: object) -> np.ndarray:
    """probability clipped to [c, 1 - c] (unchanged when ``clip_probability`` is None)."""
    if clip_probability is None:
        return probability
    c = check.real_number(function, "clip_probability", clip_probability, low=0.0, high=0.5, low_open=True)
    return np.clip(probability, c, 1 - c)


def _weighted(weight: np.ndarray, value: np.ndarray) -> np.ndarray:
    """weight * value, except that a zero weight gives 0 even when value is infinite (0*log(0) = 0)."""
    return np.where(weight == 0, 0.0, weight * value)


def forward(
    probability: np.ndarray, target: np.ndarray, reduction: str = "mean", log_floor: float | None = None,
    clip_probability: float | None = None, label_smoothing: float = 0.0, last_axis: str | None = None,
) -> np.ndarray:
    """Binary cross-entropy of each element, reduced; exact unless ``log_floor`` is given.

    Spec: docs/spec/losses.md#binary-cross-entropy

    Math:
        target = target * (1 - e) + e / 2                  (label_smoothing = e; Keras's, 0 by default)
        probability = clip(probability, c, 1 - c)     (only if clip_probability = c is given; Keras: 1e-7)
        log_p = log(probability)
        log_not_p = log1p(-probability)                          (log(1 - p), accurate for small p)
        log_p = max(log_p, log_floor); log_not_p = max(log_not_p, log_floor)    (only if log_floor given)
        losses = target * (-log_p) + (1 - target) * (-log_not_p)  (a term with weight 0 is 0: 0*log(0) = 0)
        out = reduce(losses)        "mean": sum(losses) / probability.size; "sum"; "none": losses
        (last_axis "mean", Keras: each sample's losses are first averaged over the last axis, then reduced)

    Args:
        probability: real floating-point array, every entry in [0, 1] (NaN propagates).
        target: real floating-point array of the same shape, entries in [0, 1] (soft targets allowed).
        reduction: "mean" (divides by the number of elements; NaN for an empty input), "sum" or "none".
        log_floor: None (exact: p = 0 with target > 0 gives +inf), or a finite number <= 0 below which each
            log term is clamped (PyTorch: -100).
        clip_probability: None (exact), or a number c in (0, 0.5]: probability is first clipped to [c, 1 - c]
            (Keras: keras.backend.epsilon() = 1e-7), so every loss is finite.
        label_smoothing: e in [0, 1]: the target becomes target * (1 - e) + e / 2 (Keras's binary smoothing).
        last_axis: None, or "mean" (Keras): first average over the last axis (docs/spec/losses.md#last-axis).

    Returns:
        A 0-d array ("mean", "sum") or an array of the input shape ("none"; without its last axis when
        ``last_axis`` is given), in the wider input dtype.

    Raises:
        TypeError: if ``probability`` or ``target`` is not a real floating-point array.
        ValueError: if the shapes differ, an entry is outside [0, 1], or an option is invalid.

    Example:
        >>> forward(np.array([0.5, 1.0, 0.0]), np.array([1.0, 1.0, 1.0]), reduction="none")  # log 2, 0, inf
        array([0.69314718, 0.        ,        inf])
    """
    function = "binary_cross_entropy.forward"
    reduction = _reduction.check_reduction(function, reduction)
    probability, target = _inputs(function, probability, target)
    last_axis = _reduction.check_last_axis(function, last_axis, probability.ndim)
    target = _reduction.smooth_binary_target(function, target, label_smoothing)
    floor = None if log_floor is None else check.real_number(function, "log_floor", log_floor, high=0.0)
    count = probability.size
    probability = _clip(function, probability, clip_probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(probability)
        log_not_p = np.log1p(-probability)
        if floor is not None:
            log_p, log_not_p = np.maximum(log_p, floor), np.maximum(log_not_p, floor)
        losses = _weighted(target, -log_p) + _weighted(1 - target, -log_not_p)
    return _reduction.reduce(losses, reduction, count, last_axis)


def backward(
    probability: np.ndarray,
    target: np.ndarray,
    grad_output: object = 1.0,
    reduction: str = "mean",
    log_floor: float | None = None,
    denominator_floor: float | None = None,
    clip_probability: float | None = None,
    label_smoothing: float = 0.0,
    last_axis: str | None = None,
) -> np.ndarray:
    """Vector-Jacobian product of the binary cross-entropy with respect to ``probability``.

    Spec: docs/spec/losses.md#binary-cross-entropy

    Math:
        target = target * (1 - e) + e / 2                  (label_smoothing = e)
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / probability.size; "sum": grad_output
        exact = (probability - target) / (probability * (1 - probability))
        exact = 1 where probability == target == 0; -1 where probability == target == 1   (pinned limits)
        if log_floor given: a clamped log term (log < log_floor) contributes 0, so where exactly one is clamped
            exact = -target / probability   or   (1 - target) / (1 - probability)   (the unclamped term)
        if denominator_floor given (PyTorch's backward; log_floor is then not used):
            exact = (probability - target) / max(probability * (1 - probability), denominator_floor)
        grad_probability = exact * grad_losses
        if clip_probability = c given: exact is taken at the clipped probability, and is 0 where
            probability < c or probability > 1 - c (the clip's derivative; at the bounds themselves it is 1)

    Args:
        probability, target, reduction, log_floor, clip_probability, label_smoothing, last_axis: as in
            ``forward`` (with ``last_axis``, a "none" grad_output has the losses' shape).
        grad_output: a scalar (Python float or 0-d array) for "mean" and "sum", an array of the input shape
            for "none".
        denominator_floor: None (exact), or a positive number (PyTorch: 1e-12).

    Returns:
        Gradient with respect to ``probability``, in the widest float dtype of the arguments (a Python float
        ``grad_output`` does not widen it). Exact variant: -inf at p = 0 < target, +inf at p = 1 > target.

    Raises:
        TypeError: if an argument is not real floating-point.
        ValueError: if a shape, a value range or an option is invalid.

    Example:
        >>> backward(np.array([0.5, 0.0, 1.0]), np.array([1.0, 0.0, 1.0]), reduction="sum")  # -1/0.5, 1, -1
        array([-2.,  1., -1.])
    """
    function = "binary_cross_entropy.backward"
    reduction = _reduction.check_reduction(function, reduction)
    p, y = _inputs(function, probability, target)
    last_axis = _reduction.check_last_axis(function, last_axis, p.ndim)
    y = _reduction.smooth_binary_target(function, y, label_smoothing)
    if clip_probability is not None:
        clipped = _clip(function, p, clip_probability)
        inside = (clipped == p) | np.isnan(p)
        grad = backward(clipped, y, grad_output, reduction, log_floor, denominator_floor, last_axis=last_axis)
        return np.where(inside, grad, 0.0)
    floor = None if log_floor is None else check.real_number(function, "log_floor", log_floor, high=0.0)
    if denominator_floor is not None:
        denominator_floor = check.real_number(
            function, "denominator_floor", denominator_floor, low=0.0, low_open=True
        )
    dtype = check.result_dtype(p, y)
    grad_losses = _reduction.reduce_backward(function, grad_output, reduction, p.shape, p.size, dtype, last_axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        if denominator_floor is not None:
            return (p - y) / np.maximum(p * (1 - p), denominator_floor) * grad_losses
        exact = (p - y) / (p * (1 - p))
        exact = np.where((p == 0) & (y == 0), 1.0, np.where((p == 1) & (y == 1), -1.0, exact))
        if floor is not None:
            keep_p, keep_not_p = np.log(p) >= floor, np.log1p(-p) >= floor
            one_term = np.where(keep_p, _weighted(y, -1 / p), 0.0) + np.where(
                keep_not_p, _weighted(1 - y, 1 / (1 - p)), 0.0
            )
            exact = np.where(keep_p & keep_not_p, exact, one_term)
        return exact * grad_losses  # 0 * inf is NaN, as IEEE says
