"""Huber loss and smooth-L1: half the squared residual within delta of the target, linear beyond it.

Smooth-L1 (PyTorch's ``smooth_l1_loss`` with ``beta``) is the Huber loss divided by delta (``variant="smooth_l1"``,
beta = delta); delta = 0 gives its limit |r|, the L1 loss.
"""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.losses import _reduction

VARIANTS = ("huber", "smooth_l1")


def _inputs(function: str, prediction: object, target: object, delta: object, variant: object):
    """The checked arrays, delta (> 0 for Huber, >= 0 for smooth-L1) and variant."""
    variant = check.choice(function, "variant", variant, VARIANTS)
    delta = check.real_number(function, "delta", delta, low=0.0, low_open=variant == "huber")
    prediction = check.float_array(function, "prediction", prediction)
    target = check.float_array(function, "target", target)
    check.same_shape(function, "target", target, "prediction", prediction)
    return prediction, target, delta, variant


def forward(prediction: np.ndarray, target: np.ndarray, delta: float = 1.0, reduction: str = "mean",
            variant: str = "huber", last_axis: str | None = None) -> np.ndarray:
    """Huber (or smooth-L1) loss of each element, reduced.

    Spec: docs/spec/losses.md#huber

    Math:
        r = prediction - target
        losses = 0.5 * r * r                     if |r| <= delta   (at |r| = delta both branches give delta**2 / 2)
        losses = delta * (|r| - 0.5 * delta)     if |r| > delta
        "smooth_l1": losses = losses / delta     (delta = 0: losses = |r|, the limit)
        out = reduce(losses)                     "mean": sum(losses) / prediction.size; "sum"; "none": losses

    Args:
        prediction: real floating-point array of any shape.
        target: real floating-point array of the same shape (no broadcasting).
        delta: the finite threshold between the quadratic and the linear branch: > 0 ("huber"), >= 0
            ("smooth_l1", PyTorch's beta).
        reduction: "mean" (divides by the number of elements; NaN for an empty input), "sum" or "none".
        variant: "huber" or "smooth_l1" (the Huber loss divided by delta).
        last_axis: None, or "mean" (Keras): first average over the last axis (docs/spec/losses.md#last-axis).

    Returns:
        A 0-d array ("mean", "sum") or an array of the input shape ("none"; without its last axis when
        ``last_axis`` is given), in the wider input dtype.
        r = +-inf gives +inf; NaN, and inf - inf, give NaN.

    Raises:
        TypeError: if an array is not real floating-point or delta is not a real number.
        ValueError: if the shapes differ, delta is out of range or not finite, or reduction or variant is unknown.

    Example:
        >>> forward(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="none")
        array([0.125, 2.5  ])
    """
    function = "huber.forward"
    reduction = _reduction.check_reduction(function, reduction)
    prediction, target, delta, variant = _inputs(function, prediction, target, delta, variant)
    last_axis = _reduction.check_last_axis(function, last_axis, prediction.ndim)
    with np.errstate(invalid="ignore", over="ignore"):
        r = prediction - target
        size = np.abs(r)
        if delta == 0:  # smooth_l1 only: the L1 loss
            losses = size
        elif variant == "huber":
            losses = np.where(size <= delta, 0.5 * r * r, delta * (size - 0.5 * delta))
        else:
            losses = np.where(size <= delta, 0.5 * r * r / delta, size - 0.5 * delta)
    return _reduction.reduce(losses.astype(r.dtype), reduction, prediction.size, last_axis)


def backward(prediction: np.ndarray, target: np.ndarray, grad_output: object = 1.0, delta: float = 1.0,
             reduction: str = "mean", variant: str = "huber", last_axis: str | None = None) -> np.ndarray:
    """Vector-Jacobian product of the Huber (or smooth-L1) loss with respect to ``prediction``.

    Spec: docs/spec/losses.md#huber

    Math:
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / prediction.size; "sum": grad_output
        r = prediction - target
        slope = clip(r, -delta, delta)               "huber"; r = +-inf gives +-delta, r = 0 gives 0
        slope = clip(r / delta, -1, 1)               "smooth_l1"; delta = 0: sign(r), sign(0) = 0
        grad_prediction = slope * grad_losses

    Args:
        prediction, target, delta, reduction, variant, last_axis: as in ``forward``.
        grad_output: gradient with respect to the forward output: a scalar for "mean" and "sum", an array of
            the input shape for "none".

    Returns:
        Gradient with respect to ``prediction``, of its shape, in the widest float dtype of the arguments
        (a Python float ``grad_output`` does not widen it). NaN, and inf - inf, give NaN.

    Raises:
        TypeError, ValueError: as ``forward``, and for a ``grad_output`` of the wrong type or shape.

    Example:
        >>> backward(np.array([0.5, 3.0]), np.array([0.0, 0.0]), 1.0, reduction="sum")
        array([0.5, 1. ])
    """
    function = "huber.backward"
    reduction = _reduction.check_reduction(function, reduction)
    prediction, target, delta, variant = _inputs(function, prediction, target, delta, variant)
    last_axis = _reduction.check_last_axis(function, last_axis, prediction.ndim)
    dtype = check.result_dtype(prediction, target)
    grad_losses = _reduction.reduce_backward(
        function, grad_output, reduction, prediction.shape, prediction.size, dtype, last_axis
    )
    with np.errstate(invalid="ignore", over="ignore"):
        r = prediction - target
        if delta == 0:
            slope = np.sign(r)
        elif variant == "huber":
            slope = np.clip(r, -delta, delta)
        else:
            slope = np.clip(r / delta, -1.0, 1.0)
        return slope * grad_losses
