"""The reductions shared by every loss ("mean", "sum", "none"), their backward, and the losses' range check.

Spec: docs/spec/losses.md#reductions
"""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(function: str, reduction: object) -> str:
    """Return ``reduction`` after checking that it is "mean", "sum" or "none"."""
    return check.choice(function, "reduction", reduction, REDUCTIONS)


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


def reduce(losses: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """Reduce the per-element (or per-example) losses.

    Math:
        "none": out = losses
        "sum":  out = sum(losses)                 (0 for no losses; beyond the dtype's range: inf, as IEEE says)
        "mean": out = sum(losses) / count         (count = 0 gives 0 / 0 = NaN, as IEEE says)

    ``count`` is what "mean" divides by: the number of elements (MSE, BCE) or of examples (cross-entropy).
    "mean" and "sum" return a 0-d array of the losses' dtype. The mean is a value, not a sum: it is accumulated
    in float64 (and, should even that overflow, as sum(losses / count)), so a finite mean never overflows in a
    narrow dtype (docs/spec/losses.md#reductions; the defect of pytorch/pytorch#91597).
    """
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
    function: str, grad_output: object, reduction: str, shape: tuple[int, ...], count: int, dtype: np.dtype
) -> np.ndarray:
    """Vector-Jacobian product of ``reduce``: the gradient that reaches each per-element loss.

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
    weak = type(grad_output) is float
    grad_output = check.float_array(function, "grad_output", grad_output)
    check.check_shape(function, "grad_output", grad_output, shape if reduction == "none" else ())
    out_dtype = dtype if weak else check.result_dtype(np.empty(0, dtype), grad_output)
    grad_output = grad_output.astype(out_dtype)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_output = grad_output / count
    return np.broadcast_to(grad_output, shape)
