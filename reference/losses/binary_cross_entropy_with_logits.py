"""Binary cross-entropy of logits: loss = -(target*log(sigmoid(x)) + (1-target)*log(1-sigmoid(x))), stably."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.losses import _reduction


def _inputs(function: str, logits: object, target: object) -> tuple[np.ndarray, np.ndarray]:
    logits = check.float_array(function, "logits", logits)
    target = check.float_array(function, "target", target)
    check.same_shape(function, "target", target, "logits", logits)
    _reduction.check_range(function, "target", target, 0, 1)
    return logits, target


def _weighted(weight: np.ndarray, value: np.ndarray) -> np.ndarray:
    """weight * value, except that a zero weight gives 0 even when value is infinite (0*inf = 0)."""
    return np.where(weight == 0, 0.0, weight * value)


def forward(logits: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """Binary cross-entropy of sigmoid(logits) against ``target``, elementwise, reduced; never overflows.

    Spec: docs/spec/losses.md#binary-cross-entropy-with-logits

    Math:
        positive_part = max(logits, 0)
        negative_part = max(-logits, 0)
        tail = log1p(exp(-|logits|))                          (in [0, log 2]; exp never overflows)
        losses = (1 - target) * positive_part + target * negative_part + tail   (three terms >= 0)
                 (a term with weight 0 is 0 even at logits = +-inf)
        out = reduce(losses)        "mean": sum(losses) / logits.size; "sum"; "none": losses

    Args:
        logits: real floating-point array of any shape; +-inf allowed.
        target: real floating-point array of the same shape, entries in [0, 1] (soft targets allowed).
        reduction: "mean" (divides by the number of elements; NaN for an empty input), "sum" or "none".

    Returns:
        A 0-d array ("mean", "sum") or an array of the input shape ("none"), in the wider input dtype.
        Pinned: logits = +inf gives 0 if target == 1, else +inf; logits = -inf gives 0 if target == 0, else
        +inf. NaN only from a NaN input.

    Raises:
        TypeError: if ``logits`` or ``target`` is not a real floating-point array.
        ValueError: if the shapes differ, a target is outside [0, 1], or ``reduction`` is unknown.

    Example:
        >>> forward(np.array([0.0, np.inf, -np.inf]), np.array([1.0, 1.0, 1.0]), reduction="none")  # log 2
        array([0.69314718, 0.        ,        inf])
    """
    function = "binary_cross_entropy_with_logits.forward"
    reduction = _reduction.check_reduction(function, reduction)
    logits, target = _inputs(function, logits, target)
    positive_part = np.maximum(logits, 0.0)
    negative_part = np.maximum(-logits, 0.0)
    tail = np.log1p(np.exp(-np.abs(logits)))
    with np.errstate(invalid="ignore"):
        losses = _weighted(1 - target, positive_part) + _weighted(target, negative_part) + tail
    return _reduction.reduce(losses, reduction, logits.size)


def backward(
    logits: np.ndarray, target: np.ndarray, grad_output: object = 1.0, reduction: str = "mean"
) -> np.ndarray:
    """Vector-Jacobian product of the binary cross-entropy with logits, with respect to ``logits``.

    Spec: docs/spec/losses.md#binary-cross-entropy-with-logits

    Math:
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / logits.size; "sum": grad_output
        e = exp(-|logits|)                                     (exp never overflows)
        sigmoid = 1 / (1 + e) if logits >= 0 else e / (1 + e)                  (sigmoid(logits))
        sigmoid_of_minus = e / (1 + e) if logits >= 0 else 1 / (1 + e)         (1 - sigmoid(logits))
        grad_logits = ((1 - target) * sigmoid - target * sigmoid_of_minus) * grad_losses
                      (= sigmoid(logits) - target, without its cancellation for hard targets;
                       finite at logits = +-inf: 1 - target, -target)

    Args:
        logits, target, reduction: as in ``forward``.
        grad_output: a scalar (Python float or 0-d array) for "mean" and "sum", an array of the input shape
            for "none".

    Returns:
        Gradient with respect to ``logits``, in the widest float dtype of the arguments (a Python float
        ``grad_output`` does not widen it).

    Raises:
        TypeError: if an argument is not real floating-point.
        ValueError: if a shape, a target value or ``reduction`` is invalid.

    Example:
        >>> backward(np.array([0.0, np.inf, -np.inf]), np.array([1.0, 0.0, 1.0]), reduction="sum")
        array([-0.5,  1. , -1. ])
    """
    function = "binary_cross_entropy_with_logits.backward"
    reduction = _reduction.check_reduction(function, reduction)
    logits, target = _inputs(function, logits, target)
    dtype = check.result_dtype(logits, target)
    grad_losses = _reduction.reduce_backward(
        function, grad_output, reduction, logits.shape, logits.size, dtype
    )
    e = np.exp(-np.abs(logits))
    sigmoid = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    sigmoid_of_minus = np.where(logits >= 0, e / (1 + e), 1 / (1 + e))
    return ((1 - target) * sigmoid - target * sigmoid_of_minus) * grad_losses
