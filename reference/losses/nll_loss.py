"""Negative log-likelihood on log-probabilities: loss = -weight[label] * log_probs[label] per example, with
ignore_index, inputs of shape (N, C) or (N, C, d1, ...)."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.losses import _classes, _reduction


def _inputs(function: str, log_probs, target, weight, ignore_index):
    """Validate; return (rows (M, C), labels (M,), kept (M,), row weights (M,), loss shape)."""
    x, shape = _classes.rows(function, "log_probs", log_probs)
    w = _classes.class_weights(function, weight, x.shape[1])
    target = check.array(function, "target", target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{function}: target must be integer class labels, got {target.dtype}")
    labels, kept = _classes.labels(function, target, shape, x.shape[1], ignore_index)
    return x, labels, kept, np.where(kept, w[labels], 0.0), shape


def forward(log_probs: np.ndarray, target: np.ndarray, reduction: str = "mean", weight: object = None,
            ignore_index: int | None = None, mean_divisor: str = "weight_sum") -> np.ndarray:
    """The negative log-likelihood of the labels under ``log_probs``, weighted per class, reduced.

    Spec: docs/spec/losses.md#nll-loss

    Math:
        rows: log_probs (N, C, d1, ...) with its class axis moved last, as (M, C)
        losses = -w[label] * row[label]       (an ignored row: 0, whatever it holds)
        "mean": sum(losses) / D   D = sum of w[label] over kept rows ("weight_sum"), or their count ("kept_count")
        "sum": sum(losses); "none": losses, shape (N, d1, ...)

    Args:
        log_probs: real floating-point array of shape (N, C) or (N, C, d1, ...), classes on axis 1 (any real
            values: the loss does not check that they are log-probabilities).
        target: integer labels of shape (N, d1, ...) in [0, C), or equal to ``ignore_index``.
        reduction: "mean" (0/0 = NaN when nothing is kept), "sum" or "none".
        weight: None or one weight >= 0 per class, shape (C,).
        ignore_index: None, or the label whose examples contribute nothing.
        mean_divisor: convention, "weight_sum" (PyTorch) or "kept_count".

    Returns:
        A 0-d array ("mean", "sum") or shape (N, d1, ...) ("none"), in the dtype of ``log_probs``.

    Raises:
        TypeError: if ``log_probs`` is not real floating-point or ``target`` not integer.
        ValueError: if a shape, a label, a weight or an option is invalid.

    Example:
        >>> float(forward(np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), np.array([0, 1]), reduction="sum"))
        0.9808292530117262
    """
    function = "nll_loss.forward"
    reduction = _reduction.check_reduction(function, reduction)
    x, labels, kept, row_weight, shape = _inputs(function, log_probs, target, weight, ignore_index)
    picked = x[np.arange(x.shape[0]), labels]
    losses = np.where(kept, -row_weight * picked, 0.0).astype(x.dtype, copy=False)
    divisor = _classes.mean_divisor(function, mean_divisor, row_weight, kept) if reduction == "mean" else 1.0
    return _reduction.reduce(losses.reshape(shape), reduction, divisor)


def backward(log_probs: np.ndarray, target: np.ndarray, grad_output: object = 1.0, reduction: str = "mean",
             weight: object = None, ignore_index: int | None = None, mean_divisor: str = "weight_sum") -> np.ndarray:
    """Vector-Jacobian product of the NLL with respect to ``log_probs``.

    Spec: docs/spec/losses.md#nll-loss

    Math:
        grad_losses = reduce_backward(grad_output)   "mean": grad_output / D; "sum": grad_output; per row
        grad_rows[m, label_m] = -w[label_m] * grad_losses[m]; every other entry, and every ignored row: 0

    Args:
        log_probs, target, reduction, weight, ignore_index, mean_divisor: as in ``forward``.
        grad_output: a scalar for "mean" and "sum", shape (N, d1, ...) for "none".

    Returns:
        Gradient with respect to ``log_probs``, of its shape and dtype (widened by an array ``grad_output``).

    Raises:
        TypeError, ValueError: as ``forward``, and for a ``grad_output`` of the wrong shape.

    Example:
        >>> backward(np.zeros((2, 2)), np.array([0, 1]), weight=[1.0, 3.0])  # -w[label] / (1 + 3)
        array([[-0.25,  0.  ],
               [ 0.  , -0.75]])
    """
    function = "nll_loss.backward"
    reduction = _reduction.check_reduction(function, reduction)
    x, labels, kept, row_weight, shape = _inputs(function, log_probs, target, weight, ignore_index)
    divisor = _classes.mean_divisor(function, mean_divisor, row_weight, kept) if reduction == "mean" else 1.0
    grad_losses = _reduction.reduce_backward(function, grad_output, reduction, shape, divisor, x.dtype).reshape(-1)
    grad = np.zeros(x.shape, dtype=grad_losses.dtype)
    grad[np.arange(x.shape[0]), labels] = np.where(kept, -row_weight * grad_losses, 0.0)
    return _classes.unrows(grad, shape)
