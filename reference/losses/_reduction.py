"""The reductions shared by every loss ("mean", "sum", "none"), their backward, and the losses' range check.

Spec: docs/spec/losses.md#reductions
"""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check

REDUCTIONS = ("mean", "sum", "none")
#: How a framework first reduces each sample over the LAST axis, before ``reduction`` (Keras: "mean" for the
#: elementwise losses, "sum" for KL divergence; docs/spec/losses.md#last-axis). None: no such step (PyTorch).
LAST_AXIS = ("mean", "sum")


def check_reduction(function: str, reduction: object) -> str:
    """Return ``reduction`` after checking that it is "mean", "sum" or "none"."""
    return check.choice(function, "reduction", reduction, REDUCTIONS)


def check_last_axis(function: str, last_axis: object, ndim: int) -> str | None:
    """Return ``last_axis`` (None, "mean" or "sum") after checking it; a 0-d input has no last axis."""
    if last_axis is None:
        return None
    last_axis = check.choice(function, "last_axis", last_axis, LAST_AXIS)
    if ndim == 0:
        raise ValueError(f"{function}: last_axis={last_axis!r} needs an input with at least one axis, got a 0-d one")
    return last_axis


def loss_shape(shape: tuple[int, ...], last_axis: str | None) -> tuple[int, ...]:
    """The shape of the losses "none" returns: the input's, or without its last axis (``last_axis`` given).

    Example:
        >>> loss_shape((4, 3), "mean")
        (4,)
    """
    return tuple(shape[:-1]) if last_axis is not None else tuple(shape)


def per_sample(losses: np.ndarray, last_axis: str | None) -> np.ndarray:
    """The losses of each sample: unchanged, or their mean or sum over the last axis (accumulated in float64).

    Math:
        last_axis = None:   out = losses
        last_axis = "sum":  out[i] = sum_j losses[i, j]
        last_axis = "mean": out[i] = sum_j losses[i, j] / d          (d = losses.shape[-1])
    """
    if last_axis is None:
        return losses
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        total = np.sum(losses, axis=-1, dtype=np.float64)
        if last_axis == "mean":
            total = total / losses.shape[-1]
    return np.asarray(total).astype(losses.dtype)


def smooth_binary_target(function: str, target: np.ndarray, label_smoothing: object) -> np.ndarray:
    """Keras's binary label smoothing: target * (1 - e) + 0.5 * e (unchanged for e = 0).

    Spec: docs/spec/losses.md#binary-label-smoothing

    Math:
        smoothed = target * (1 - e) + e / 2        (e in [0, 1]: every target moves towards 1/2)

    Example:
        >>> smooth_binary_target("f", np.array([0.0, 1.0]), 0.2)
        array([0.1, 0.9])
    """
    e = check.real_number(function, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    if e == 0:
        return target
    return target * (1 - e) + 0.5 * e


def check_range(function: str, name: str, value: np.ndarray, low: float, high: float | None) -> None:
    """Raise ValueError unless every non-NaN entry lies in [low, high] (``high=None``: no upper bound).

    NaN passes (it propagates, docs/spec/conventions.md#nan-and-inf); +-inf fails when outside the interval.
    """
    outside = value < low
    if high is not None:
        outside = outside | (value > high)
    if np.any(outside):
        first = value[outside].flat[0]
        interval = f"[{low}, {'inf' if high is None else high}]"
        raise ValueError(f"{function}: {name} must lie in {interval}, got {first}")


def reduce(losses: np.ndarray, reduction: str, count: int, last_axis: str | None = None) -> np.ndarray:
    """Reduce the per-element (or per-example) losses.

    With ``last_axis`` ("mean" or "sum", Keras's convention), the losses are first ``per_sample``: reduced over
    their last axis; ``count`` is then the number of samples that remain (Keras's ``sum_over_batch_size``).

    Math:
        "none": out = losses
        "sum":  out = sum(losses)                 (0 for no losses; beyond the dtype's range: inf, as IEEE says)
        "mean": out = sum(losses) / count         (count = 0 gives 0 / 0 = NaN, as IEEE says)

    ``count`` is what "mean" divides by: the number of elements (MSE, BCE) or of examples (cross-entropy).
    "mean" and "sum" return a 0-d array of the losses' dtype. The mean is a value, not a sum: it is accumulated
    in float64 (and, should even that overflow, as sum(losses / count)), so a finite mean never overflows in a
    narrow dtype (docs/spec/losses.md#reductions; the defect of pytorch/pytorch#91597).
    """
    if last_axis is not None:
        losses = per_sample(losses, last_axis)
        count = losses.size
    if reduction == "none":
        return losses
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if reduction == "sum":
            return np.asarray(np.sum(losses))
        mean = np.sum(losses, dtype=np.float64) / count
        if np.isinf(mean) and np.all(np.isfinite(losses)):
            mean = np.sum(losses.astype(np.float64) / count)  # only float64 losses near 1e308 get here
        return np.asarray(mean).astype(losses.dtype)


def reduce_backward(
    function: str, grad_output: object, reduction: str, shape: tuple[int, ...], count: int, dtype: np.dtype,
    last_axis: str | None = None,
) -> np.ndarray:
    """Vector-Jacobian product of ``reduce``: the gradient that reaches each per-element loss.

    With ``last_axis``: the gradient reaching each sample (as above, over ``shape[:-1]``, ``count`` its size),
    divided by d = shape[-1] for "mean", repeated along the last axis.

    Math:
        "none": grad_losses = grad_output                  (grad_output has the losses' shape)
        "sum":  grad_losses = grad_output                  (a scalar, repeated over ``shape``)
        "mean": grad_losses = grad_output / count          (a scalar, repeated over ``shape``)

    A Python float ``grad_output`` (the default 1.0) does not widen ``dtype``, like a numpy scalar; an array
    does: the result has dtype ``result_type(dtype, grad_output)``.

    Raises:
        TypeError: if ``grad_output`` is not a real floating-point value or array.
        ValueError: if ``grad_output`` is not 0-d ("mean", "sum") or not of the losses' shape ("none").
    """
    if last_axis is not None:
        samples = tuple(shape[:-1])
        grad = reduce_backward(function, grad_output, reduction, samples, int(np.prod(samples)), dtype)
        if last_axis == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                grad = grad / shape[-1]
        return np.broadcast_to(np.asarray(grad)[..., None], shape)
    weak = type(grad_output) is float
    grad_output = check.float_array(function, "grad_output", grad_output)
    check.check_shape(function, "grad_output", grad_output, shape if reduction == "none" else ())
    out_dtype = dtype if weak else check.result_dtype(np.empty(0, dtype), grad_output)
    grad_output = grad_output.astype(out_dtype)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_output = grad_output / count
    return np.broadcast_to(grad_output, shape)
