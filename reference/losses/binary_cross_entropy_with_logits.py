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


def _pos_weight(function: str, pos_weight: object, logits: np.ndarray) -> np.ndarray | float:
    """1.0 (no weight), or ``pos_weight`` checked: >= 0 and finite, 0-d or of shape (logits.shape[-1],)."""
    if pos_weight is None:
        return 1.0
    weight = check.float_array(function, "pos_weight", pos_weight)
    if weight.ndim > 1 or (weight.ndim == 1 and (logits.ndim == 0 or weight.shape[0] != logits.shape[-1])):
        raise ValueError(f"{function}: pos_weight must be 0-d or of shape ({logits.shape[-1] if logits.ndim else 1},)"
                         f" (the last axis of logits), got shape {weight.shape}")
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        bad = weight[~(np.isfinite(weight) & (weight >= 0))].flat[0]
        raise ValueError(f"{function}: pos_weight must be finite and >= 0, got {bad}")
    return weight


def _weighted(weight: np.ndarray, value: np.ndarray) -> np.ndarray:
    """weight * value, except that a zero weight gives 0 even when value is infinite (0*inf = 0)."""
    return np.where(weight == 0, 0.0, weight * value)


def forward(logits: np.ndarray, target: np.ndarray, reduction: str = "mean", pos_weight: object = None,
            label_smoothing: float = 0.0, last_axis: str | None = None) -> np.ndarray:
    """Binary cross-entropy of sigmoid(logits) against ``target``, elementwise, reduced; never overflows.

    Spec: docs/spec/losses.md#binary-cross-entropy-with-logits

    Math:
        target = target * (1 - e) + e / 2                  (label_smoothing = e; Keras's, 0 by default)
        w = pos_weight, broadcast over the last axis       (1 when not given)
        positive_part = max(logits, 0)                     (= -log(1 - sigmoid(logits)) - tail)
        negative_part = max(-logits, 0)                    (= -log(sigmoid(logits)) - tail)
        tail = log1p(exp(-|logits|))                          (in [0, log 2]; exp never overflows)
        losses = (1 - target) * (positive_part + tail) + w * target * (negative_part + tail)   (terms >= 0)
                 (a term with weight 0 is 0 even at logits = +-inf)
        out = reduce(losses)        "mean": sum(losses) / logits.size; "sum"; "none": losses
        (last_axis "mean", Keras: each sample's losses are first averaged over the last axis, then reduced)

    Args:
        logits: real floating-point array of any shape; +-inf allowed.
        target: real floating-point array of the same shape, entries in [0, 1] (soft targets allowed).
        reduction: "mean" (divides by the number of elements; NaN for an empty input), "sum" or "none".
        pos_weight: None, or the weight of the positive term (PyTorch's ``pos_weight``): finite, >= 0, a scalar
            or one weight per entry of the last axis (shape (logits.shape[-1],)).
        label_smoothing: e in [0, 1]: the target becomes target * (1 - e) + e / 2 (Keras's binary smoothing).
        last_axis: None, or "mean" (Keras): first average over the last axis (docs/spec/losses.md#last-axis).

    Returns:
        A 0-d array ("mean", "sum") or an array of the input shape ("none"; without its last axis when
        ``last_axis`` is given), in the wider input dtype. Pinned (pos_weight > 0): logits = +inf gives 0 if
        target == 1, else +inf; logits = -inf gives 0 if target == 0, else +inf. NaN only from a NaN input.

    Raises:
        TypeError: if ``logits`` or ``target`` is not a real floating-point array.
        ValueError: if the shapes differ, a target is outside [0, 1], or an option (reduction, pos_weight,
            label_smoothing, last_axis) is invalid.

    Example:
        >>> forward(np.array([0.0, np.inf, -np.inf]), np.array([1.0, 1.0, 1.0]), reduction="none")  # log 2
        array([0.69314718, 0.        ,        inf])
    """
    function = "binary_cross_entropy_with_logits.forward"
    reduction = _reduction.check_reduction(function, reduction)
    logits, target = _inputs(function, logits, target)
    last_axis = _reduction.check_last_axis(function, last_axis, logits.ndim)
    weight = _pos_weight(function, pos_weight, logits)
    target = _reduction.smooth_binary_target(function, target, label_smoothing)
    positive_part = np.maximum(logits, 0.0)
    negative_part = np.maximum(-logits, 0.0)
    tail = np.log1p(np.exp(-np.abs(logits)))
    with np.errstate(invalid="ignore"):
        if pos_weight is None:  # the three-term form: tail's weight (1 - y) + y is 1
            losses = _weighted(1 - target, positive_part) + _weighted(target, negative_part) + tail
        else:
            losses = _weighted(1 - target, positive_part + tail) + _weighted(weight * target, negative_part + tail)
    return _reduction.reduce(losses.astype(check.result_dtype(logits, target)), reduction, logits.size, last_axis)


def backward(
    logits: np.ndarray, target: np.ndarray, grad_output: object = 1.0, reduction: str = "mean",
    pos_weight: object = None, label_smoothing: float = 0.0, last_axis: str | None = None,
) -> np.ndarray:
    """Vector-Jacobian product of the binary cross-entropy with logits, with respect to ``logits``.

    Spec: docs/spec/losses.md#binary-cross-entropy-with-logits

    Math:
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / logits.size; "sum": grad_output
        e = exp(-|logits|)                                     (exp never overflows)
        sigmoid = 1 / (1 + e) if logits >= 0 else e / (1 + e)                  (sigmoid(logits))
        sigmoid_of_minus = e / (1 + e) if logits >= 0 else 1 / (1 + e)         (1 - sigmoid(logits))
        grad_logits = ((1 - target) * sigmoid - w * target * sigmoid_of_minus) * grad_losses    (w = pos_weight)
                      (= sigmoid(logits) - target, without its cancellation for hard targets;
                       finite at logits = +-inf: 1 - target, -target)

    Args:
        logits, target, reduction, pos_weight, label_smoothing, last_axis: as in ``forward`` (with
            ``last_axis``, a "none" grad_output has the losses' shape).
        grad_output: a scalar (Python float or 0-d array) for "mean" and "sum", an array of the input shape
            for "none".

    Returns:
        Gradient with respect to ``logits``, in the widest float dtype of the arguments (a Python float
        ``grad_output`` does not widen it).

    Raises:
        TypeError: if an argument is not real floating-point.
        ValueError: if a shape, a target value or an option is invalid.

    Example:
        >>> backward(np.array([0.0, np.inf, -np.inf]), np.array([1.0, 0.0, 1.0]), reduction="sum")
        array([-0.5,  1. , -1. ])
    """
    function = "binary_cross_entropy_with_logits.backward"
    reduction = _reduction.check_reduction(function, reduction)
    logits, target = _inputs(function, logits, target)
    last_axis = _reduction.check_last_axis(function, last_axis, logits.ndim)
    weight = _pos_weight(function, pos_weight, logits)
    dtype = check.result_dtype(logits, target)
    target = _reduction.smooth_binary_target(function, target, label_smoothing)
    grad_losses = _reduction.reduce_backward(
        function, grad_output, reduction, logits.shape, logits.size, dtype, last_axis
    )
    e = np.exp(-np.abs(logits))
    sigmoid = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    sigmoid_of_minus = np.where(logits >= 0, e / (1 + e), 1 / (1 + e))
    return (((1 - target) * sigmoid - weight * target * sigmoid_of_minus) * grad_losses).astype(
        np.result_type(dtype, grad_losses))
