"""Softmax cross-entropy: loss = -sum_c w_c q_c log_softmax(logits)_c per example, for labels or probabilities,
with class weights, ignore_index, label smoothing and inputs of shape (N, C) or (N, C, d1, ...)."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.activations import log_softmax, softmax
from nnspec.reference.losses import _classes, _reduction

#: Each convention keyword and its named values, the default (PyTorch's) first
#: (docs/spec/losses.md#class-weights-and-ignore-index).
CONVENTIONS = {"mean_divisor": _classes.MEAN_DIVISORS, "smoothing_weight": _classes.SMOOTHING_WEIGHTS}


def _terms(function: str, logits, target, label_smoothing, weight, ignore_index, smoothing_weight):
    """Validate; return (rows (M, C), per-row coefficients a (M, C), kept (M,), row weights (M,), loss shape,
    dtype, whether the targets are labels)."""
    x, shape = _classes.rows(function, "logits", logits)
    classes = x.shape[1]
    smoothing = check.real_number(function, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    smoothing_weight = check.choice(function, "smoothing_weight", smoothing_weight, _classes.SMOOTHING_WEIGHTS)
    w = _classes.class_weights(function, weight, classes)
    target = check.array(function, "target", target)
    if target.dtype.kind in "iu":
        labels, kept = _classes.labels(function, target, shape, classes, ignore_index)
        distribution = (np.arange(classes) == labels[:, None]).astype(np.float64)
        row_weight = np.where(kept, w[labels], 0.0)
        scale = w[None, :] if smoothing_weight == "per_class" else row_weight[:, None]
        dtype = x.dtype
    elif target.dtype.kind == "f":
        if ignore_index is not None:
            raise ValueError(f"{function}: ignore_index applies to integer labels only, got {ignore_index}")
        check.check_shape(function, "target", target, np.shape(logits))
        _reduction.check_range(function, "target", target, 0, None)
        distribution = np.moveaxis(target, 1, -1).reshape(-1, classes)
        kept, row_weight, scale = np.ones(x.shape[0], dtype=bool), np.ones(x.shape[0]), w[None, :]
        dtype = check.result_dtype(x, target)
    else:
        raise TypeError(
            f"{function}: target must be integer class labels or real floating-point class probabilities, "
            f"got {target.dtype}"
        )
    q = (1 - smoothing) * distribution + smoothing / classes
    a = np.where(kept[:, None], scale * q, 0.0)
    return x, a, kept, row_weight, shape, dtype, target.dtype.kind in "iu"


def _divisor(function, mean_divisor, row_weight, kept, is_labels) -> float:
    """"mean" of labels: mean_divisor's rule; of probabilities: the number of rows M, as PyTorch."""
    return _classes.mean_divisor(function, mean_divisor, row_weight, kept) if is_labels else float(kept.size)


def forward(logits: np.ndarray, target: np.ndarray, reduction: str = "mean", label_smoothing: float = 0.0,
            weight: object = None, ignore_index: int | None = None, mean_divisor: str = "weight_sum",
            smoothing_weight: str = "per_class"):
    """Cross-entropy between softmax(logits) and the (smoothed, weighted) target distribution, reduced.

    Spec: docs/spec/losses.md#softmax-cross-entropy-labels (probabilities: #softmax-cross-entropy-probabilities;
    weight, ignore_index, (N, C, d1, ...): #class-weights-and-ignore-index)

    Math:
        rows: logits (N, C, d1, ...) with its class axis moved last, as (M, C), M = N d1 ...
        distribution = onehot(target) (labels) or target (probabilities), per row
        q = (1 - label_smoothing) * distribution + label_smoothing / C
        a = w * q            (per row; smoothing_weight "per_example": w[label] * q; an ignored row: a = 0)
        losses = sum_c a_c * (-log_softmax(row)_c)   (a_c = 0 adds 0, even at -inf; a NaN logit: NaN row,
                                                      unless the row is ignored: 0)
        "mean": sum(losses) / D   D = sum of w[label] over kept rows ("weight_sum"), their count
                                  ("kept_count"); probabilities: M
        "sum": sum(losses); "none": losses, shape (N, d1, ...)

    Args:
        logits: real floating-point array of shape (N, C) or (N, C, d1, ...), classes on axis 1, C >= 1.
        target: integer labels of shape (N, d1, ...) in [0, C) (or equal to ``ignore_index``), or real
            floating-point class probabilities of the logits' shape, entries >= 0 (not renormalised).
        reduction: "mean" (0/0 = NaN when nothing is kept), "sum" or "none".
        label_smoothing: a number in [0, 1].
        weight: None or one weight >= 0 per class, shape (C,) (a sequence of floats is accepted).
        ignore_index: None, or the label whose examples contribute nothing (labels only).
        mean_divisor: convention, "weight_sum" (PyTorch) or "kept_count" (Keras, optax with jnp.mean(where=)).
        smoothing_weight: convention, "per_class" (PyTorch) or "per_example" (Keras sample weights).

    Returns:
        A 0-d array ("mean", "sum") or shape (N, d1, ...) ("none"), in the logits' dtype (widened by float
        targets). Infinite logits as log_softmax pins them: -inf entries get probability 0.

    Raises:
        TypeError: if ``logits`` is not real floating-point, or ``target`` neither integer nor float.
        ValueError: if a shape, a label, a probability, a weight or an option is invalid.

    Example:
        >>> forward(np.array([[0.0, 0.0], [1e8, 1e8]]), np.array([1, 0]), reduction="none")  # log 2 twice
        array([0.69314718, 0.69314718])
        >>> float(forward(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([1, -100]), ignore_index=-100))
        0.6931471805599453
    """
    function = "softmax_cross_entropy.forward"
    reduction = _reduction.check_reduction(function, reduction)
    x, a, kept, row_weight, shape, dtype, is_labels = _terms(function, logits, target, label_smoothing, weight,
                                                             ignore_index, smoothing_weight)
    log_probs = log_softmax.forward(x, axis=-1)
    with np.errstate(invalid="ignore"):
        losses = np.sum(np.where((a == 0) & ~np.isnan(log_probs), 0.0, a * -log_probs), axis=1)
    losses = np.where(kept, losses, 0.0).astype(dtype, copy=False)
    divisor = _divisor(function, mean_divisor, row_weight, kept, is_labels) if reduction == "mean" else 1.0
    return _reduction.reduce(losses.reshape(shape), reduction, divisor)


def backward(
    logits: np.ndarray,
    target: np.ndarray,
    grad_output: object = 1.0,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    weight: object = None,
    ignore_index: int | None = None,
    mean_divisor: str = "weight_sum",
    smoothing_weight: str = "per_class",
) -> np.ndarray:
    """Vector-Jacobian product of the softmax cross-entropy with respect to ``logits``.

    Spec: docs/spec/losses.md#softmax-cross-entropy-labels (probabilities: #softmax-cross-entropy-probabilities;
    weight, ignore_index, (N, C, d1, ...): #class-weights-and-ignore-index)

    Math:
        rows, a, D: as in ``forward``
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / D; "sum": grad_output; per row
        probs = softmax(row)                                  (docs/spec/activations.md#softmax)
        grad_rows = (probs * sum_c(a) - a) * grad_losses      (an ignored row: 0)

    Args:
        logits, target, reduction, label_smoothing, weight, ignore_index, mean_divisor, smoothing_weight: as in
            ``forward``.
        grad_output: a scalar (Python float or 0-d array) for "mean" and "sum", shape (N, d1, ...) for "none".

    Returns:
        Gradient with respect to ``logits``, of its shape, in the widest float dtype of the arguments
        (a Python float ``grad_output`` does not widen it).

    Raises:
        TypeError: if an argument is not of a valid dtype.
        ValueError: if a shape, a label, a probability, a weight or an option is invalid.

    Example:
        >>> backward(np.array([[0.0, 0.0]]), np.array([1]))  # softmax (1/2, 1/2) minus onehot (0, 1)
        array([[ 0.5, -0.5]])
    """
    function = "softmax_cross_entropy.backward"
    reduction = _reduction.check_reduction(function, reduction)
    x, a, kept, row_weight, shape, dtype, is_labels = _terms(function, logits, target, label_smoothing, weight,
                                                             ignore_index, smoothing_weight)
    divisor = _divisor(function, mean_divisor, row_weight, kept, is_labels) if reduction == "mean" else 1.0
    grad_losses = _reduction.reduce_backward(function, grad_output, reduction, shape, divisor, dtype).reshape(-1)
    probs = softmax.forward(x, axis=-1)
    grad = np.where(kept[:, None], (probs * np.sum(a, axis=1, keepdims=True) - a) * grad_losses[:, None], 0.0)
    return _classes.unrows(grad.astype(grad_losses.dtype, copy=False), shape)
