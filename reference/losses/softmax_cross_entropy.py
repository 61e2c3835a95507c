"""Softmax cross-entropy: loss = -sum_c q_c * log_softmax(logits)_c per example, for labels or probabilities."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.activations import log_softmax, softmax
from nnspec.reference.losses import _reduction


def _inputs(function: str, logits: object, target: object, label_smoothing: object):
    """Validate; return (logits, smoothed target distribution q of shape (N, C), dtype of the inputs)."""
    logits = check.float_array(function, "logits", logits)
    check.check_shape(function, "logits", logits, (None, None))
    n, c = logits.shape
    if c == 0:
        raise ValueError(
            f"{function}: logits must have at least one class (shape (N, C), C >= 1), got {logits.shape}"
        )
    smoothing = check.real_number(function, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    target = check.array(function, "target", target)
    if target.dtype.kind in "iu":
        check.check_shape(function, "target", target, (n,))
        if np.any((target < 0) | (target >= c)):
            bad = target[(target < 0) | (target >= c)][0]
            raise ValueError(f"{function}: target labels must lie in [0, {c - 1}], got {bad}")
        distribution = (np.arange(c) == target[:, None]).astype(logits.dtype)
        dtype = logits.dtype
    elif target.dtype.kind == "f":
        check.check_shape(function, "target", target, (n, c))
        _reduction.check_range(function, "target", target, 0, None)
        distribution = target
        dtype = check.result_dtype(logits, target)
    else:
        raise TypeError(
            f"{function}: target must be integer class labels or real floating-point class probabilities, "
            f"got {target.dtype}"
        )
    q = (1 - smoothing) * distribution + smoothing / c
    return logits, q.astype(dtype, copy=False), dtype


def forward(logits: np.ndarray, target: np.ndarray, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross-entropy between softmax(logits) and the (smoothed) target distribution, per example, reduced.

    Spec: docs/spec/losses.md#softmax-cross-entropy-labels (probabilities: #softmax-cross-entropy-probabilities)

    Math:
        distribution = onehot(target) (labels) or target (probabilities), shape (N, C)
        q = (1 - label_smoothing) * distribution + label_smoothing / C
        log_probs = log_softmax(logits) over the classes       (max-shifted: docs/spec/activations.md#log-softmax)
        losses = sum_c q * (-log_probs)           (per row; a class with q = 0 adds 0, even at -inf, but not
                                                   at NaN: a NaN logit makes its row's loss NaN)
        out = reduce(losses)        "mean": sum(losses) / N; "sum"; "none": losses, shape (N,)

    Args:
        logits: real floating-point array of shape (N, C), classes on the last axis, C >= 1; 1-D is rejected.
        target: integer labels of shape (N,) with values in [0, C), or real floating-point class
            probabilities of shape (N, C), entries >= 0 (rows are not renormalised: the loss is
            -sum_c q_c log_probs_c whatever sum_c q_c is).
        reduction: "mean" (divides by N, the number of examples; NaN for N = 0), "sum" or "none".
        label_smoothing: a number in [0, 1].

    Returns:
        A 0-d array ("mean", "sum") or shape (N,) ("none"), in the logits' dtype (widened by float targets).
        Infinite logits, as log_softmax pins them: -inf entries get probability 0, the +inf entries of a
        row share it equally, a row of only -inf has probability 0 everywhere (its loss is +inf unless q is
        0). NaN only from a NaN input: a NaN logit makes its example's loss NaN, whatever the target.

    Raises:
        TypeError: if ``logits`` is not real floating-point, or ``target`` neither integer nor float.
        ValueError: if a shape, a label, a probability, ``reduction`` or ``label_smoothing`` is invalid.

    Example:
        >>> forward(np.array([[0.0, 0.0], [1e8, 1e8]]), np.array([1, 0]), reduction="none")  # log 2 twice
        array([0.69314718, 0.69314718])
    """
    function = "softmax_cross_entropy.forward"
    reduction = _reduction.check_reduction(function, reduction)
    logits, q, dtype = _inputs(function, logits, target, label_smoothing)
    log_probs = log_softmax.forward(logits, axis=-1)
    with np.errstate(invalid="ignore"):
        losses = np.sum(np.where((q == 0) & ~np.isnan(log_probs), 0.0, q * -log_probs), axis=1)
    return _reduction.reduce(losses.astype(dtype, copy=False), reduction, logits.shape[0])


def backward(
    logits: np.ndarray,
    target: np.ndarray,
    grad_output: object = 1.0,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """Vector-Jacobian product of the softmax cross-entropy with respect to ``logits``.

    Spec: docs/spec/losses.md#softmax-cross-entropy-labels (probabilities: #softmax-cross-entropy-probabilities)

    Math:
        distribution, q: as in ``forward``
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / N; "sum": grad_output; shape (N,)
        probs = softmax(logits) over the classes             (docs/spec/activations.md#softmax)
        grad_logits = (probs * sum_c(q) - q) * grad_losses     (= probs - q when rows of q sum to 1)

    Args:
        logits, target, reduction, label_smoothing: as in ``forward``.
        grad_output: a scalar (Python float or 0-d array) for "mean" and "sum", shape (N,) for "none".

    Returns:
        Gradient with respect to ``logits``, shape (N, C), in the widest float dtype of the arguments
        (a Python float ``grad_output`` does not widen it). Finite wherever the inputs are not NaN.

    Raises:
        TypeError: if an argument is not of a valid dtype.
        ValueError: if a shape, a label, a probability, ``reduction`` or ``label_smoothing`` is invalid.

    Example:
        >>> backward(np.array([[0.0, 0.0]]), np.array([1]))  # softmax (1/2, 1/2) minus onehot (0, 1)
        array([[ 0.5, -0.5]])
    """
    function = "softmax_cross_entropy.backward"
    reduction = _reduction.check_reduction(function, reduction)
    logits, q, dtype = _inputs(function, logits, target, label_smoothing)
    n = logits.shape[0]
    grad_losses = _reduction.reduce_backward(function, grad_output, reduction, (n,), n, dtype)
    probs = softmax.forward(logits, axis=-1)
    return (probs * np.sum(q, axis=1, keepdims=True) - q) * grad_losses[:, None]
