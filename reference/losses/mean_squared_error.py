"""Mean squared error: loss = (prediction - target)**2 per element, then reduced ("mean" over all elements)."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.losses import _reduction


def _inputs(function: str, prediction: object, target: object) -> tuple[np.ndarray, np.ndarray]:
    prediction = check.float_array(function, "prediction", prediction)
    target = check.float_array(function, "target", target)
    check.same_shape(function, "target", target, "prediction", prediction)
    return prediction, target


def forward(prediction: np.ndarray, target: np.ndarray, reduction: str = "mean", last_axis: str | None = None
            ) -> np.ndarray:
    """Squared error of each element, reduced.

    Spec: docs/spec/losses.md#mean-squared-error

    Math:
        difference = prediction - target
        losses = difference * difference
        out = reduce(losses)        "mean": sum(losses) / prediction.size; "sum"; "none": losses
        (last_axis "mean", Keras: each sample's losses are first averaged over the last axis, then reduced)

    Args:
        prediction: real floating-point array of any shape.
        target: real floating-point array of the same shape (no broadcasting).
        reduction: "mean" (divides by the number of elements; NaN for an empty input), "sum" or "none".
        last_axis: None, or "mean": first average over the last axis (docs/spec/losses.md#last-axis).

    Returns:
        A 0-d array ("mean", "sum") or an array of the input shape ("none"; without its last axis when
        ``last_axis`` is given), in the wider input dtype. NaN and inf propagate (inf - inf is NaN).

    Raises:
        TypeError: if ``prediction`` or ``target`` is not a real floating-point array.
        ValueError: if the shapes differ or ``reduction`` is unknown.

    Example:
        >>> forward(np.array([1.0, 3.0]), np.array([0.0, 1.0]))
        array(2.5)
    """
    reduction = _reduction.check_reduction("mean_squared_error.forward", reduction)
    prediction, target = _inputs("mean_squared_error.forward", prediction, target)
    last_axis = _reduction.check_last_axis("mean_squared_error.forward", last_axis, prediction.ndim)
    with np.errstate(invalid="ignore", over="ignore"):
        difference = prediction - target
        losses = difference * difference
    return _reduction.reduce(losses, reduction, prediction.size, last_axis)


def backward(
    prediction: np.ndarray, target: np.ndarray, grad_output: object = 1.0, reduction: str = "mean",
    last_axis: str | None = None,
) -> np.ndarray:
    """Vector-Jacobian product of the mean squared error with respect to ``prediction``.

    Spec: docs/spec/losses.md#mean-squared-error

    Math:
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / prediction.size; "sum": grad_output
        difference = prediction - target
        grad_prediction = 2 * difference * grad_losses

    Args:
        prediction: the forward input.
        target: the forward target, same shape.
        grad_output: gradient with respect to the forward output: a scalar (Python float or 0-d array) for
            "mean" and "sum", an array of the input shape for "none".
        reduction, last_axis: as in ``forward`` (with ``last_axis``, a "none" grad_output has the losses' shape).

    Returns:
        Gradient with respect to ``prediction``, of its shape, in the widest float dtype of the arguments
        (a Python float ``grad_output`` does not widen it).

    Raises:
        TypeError: if an argument is not real floating-point.
        ValueError: if a shape is wrong or ``reduction`` is unknown.

    Example:
        >>> backward(np.array([1.0, 3.0]), np.array([0.0, 1.0]))
        array([1., 2.])
    """
    function = "mean_squared_error.backward"
    reduction = _reduction.check_reduction(function, reduction)
    prediction, target = _inputs(function, prediction, target)
    last_axis = _reduction.check_last_axis(function, last_axis, prediction.ndim)
    dtype = check.result_dtype(prediction, target)
    grad_losses = _reduction.reduce_backward(
        function, grad_output, reduction, prediction.shape, prediction.size, dtype, last_axis
    )
    with np.errstate(invalid="ignore", over="ignore"):
        difference = prediction - target
        return 2 * difference * grad_losses
