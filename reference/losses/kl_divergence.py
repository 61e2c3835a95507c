"""Kullback-Leibler divergence KL(p || q): loss = p * (log p - log q) per element, then reduced."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.losses import _reduction

#: "batchmean" divides the sum by the size of the first axis (PyTorch's), on top of the common reductions
REDUCTIONS = _reduction.REDUCTIONS + ("batchmean",)


def _inputs(function: str, log_prediction, prediction, target, log_target: bool, clip_probability):
    """(log q or q, p or log p, which of the two prediction forms was given) after checking them."""
    if (log_prediction is None) == (prediction is None):
        raise ValueError(f"{function}: give exactly one of log_prediction and prediction")
    name = "log_prediction" if prediction is None else "prediction"
    q = check.float_array(function, name, log_prediction if prediction is None else prediction)
    target = check.float_array(function, "target", target)
    check.same_shape(function, "target", target, name, q)
    if not isinstance(log_target, bool):
        raise TypeError(f"{function}: log_target must be a bool, got {type(log_target).__name__}")
    if prediction is None:
        _reduction.check_range(function, "log_prediction", q, -np.inf, 0)
    else:
        _reduction.check_range(function, "prediction", q, 0, 1)
    if log_target:
        _reduction.check_range(function, "target", target, -np.inf, 0)
    else:
        _reduction.check_range(function, "target", target, 0, 1)
    if clip_probability is not None:
        if prediction is None or log_target:
            raise ValueError(f"{function}: clip_probability applies to probabilities (prediction, target) only")
        check.real_number(function, "clip_probability", clip_probability, low=0.0, high=0.5, low_open=True)
    return q, target, name


def _terms(function, log_prediction, prediction, target, log_target, clip_probability):
    """p, log p and log q (clipped first where ``clip_probability`` is given)."""
    q, target, name = _inputs(function, log_prediction, prediction, target, log_target, clip_probability)
    with np.errstate(divide="ignore"):
        if clip_probability is not None:
            q, target = np.clip(q, clip_probability, 1.0), np.clip(target, clip_probability, 1.0)
        p = np.exp(target) if log_target else target
        log_p = target if log_target else np.log(target)
        log_q = np.log(q) if name == "prediction" else q
    return p, log_p, log_q, q, name


def _check_reduction(function, reduction, last_axis):
    reduction = check.choice(function, "reduction", reduction, REDUCTIONS)
    if reduction == "batchmean" and last_axis is not None:
        raise ValueError(f"{function}: reduction 'batchmean' has no last_axis form (its 'mean' is that)")
    return reduction


def forward(log_prediction: np.ndarray | None = None, target: np.ndarray | None = None, reduction: str = "mean",
            log_target: bool = False, prediction: np.ndarray | None = None, clip_probability: float | None = None,
            last_axis: str | None = None) -> np.ndarray:
    """KL divergence of the prediction q from the target p, elementwise, reduced.

    Spec: docs/spec/losses.md#kl-divergence

    Math:
        p = target, or exp(target) if log_target; log p = log(target), or target if log_target
        log q = log_prediction, or log(prediction) when the prediction is given as probabilities
        p, q clipped to [c, 1] first where clip_probability = c is given (Keras: 1e-7)
        losses = p * (log p - log q)           (a term with p = 0 is 0, even where log q = -inf: 0 log 0 = 0)
        out = reduce(losses)     "mean": sum / size (every element); "batchmean": sum / shape[0]; "sum"; "none"
        (last_axis "sum", Keras and optax: each sample's losses are first summed over the last axis)

    Args:
        log_prediction: log q, real floating-point, every entry <= 0 (-inf allowed); PyTorch's ``input``.
        target: p in [0, 1], or log p <= 0 if ``log_target``; the same shape.
        reduction: "mean", "batchmean", "sum" or "none".
        log_target: whether ``target`` holds log p (PyTorch's ``log_target``, optax's
            ``kl_divergence_with_log_targets``).
        prediction: q in [0, 1] instead of ``log_prediction`` (Keras's ``KLDivergence`` takes probabilities).
        clip_probability: None, or c in (0, 0.5]: p and q clipped to [c, 1] first (probabilities only).
        last_axis: None, or "sum": first sum over the last axis (docs/spec/losses.md#last-axis); "batchmean"
            then is not allowed ("mean" divides by the number of samples).

    Returns:
        A 0-d array ("mean", "batchmean", "sum") or the losses ("none": the input's shape, without its last
        axis when ``last_axis`` is given), in the wider input dtype. NaN propagates.

    Raises:
        TypeError: if an array is not real floating-point or ``log_target`` is not a bool.
        ValueError: if the shapes differ, a value is outside its range, or an option is invalid.

    Example:
        >>> forward(np.log(np.array([0.5, 0.5])), np.array([1.0, 0.0]), reduction="none")  # log 2, 0
        array([0.69314718, 0.        ])
    """
    function = "kl_divergence.forward"
    p, log_p, log_q, q, name = _terms(function, log_prediction, prediction, target, log_target, clip_probability)
    last_axis = _reduction.check_last_axis(function, last_axis, q.ndim)
    reduction = _check_reduction(function, reduction, last_axis)
    with np.errstate(invalid="ignore"):
        losses = np.where(p == 0, 0.0, p * (log_p - log_q)).astype(check.result_dtype(q, p))
    if reduction == "batchmean":
        return _reduction.reduce(losses, "mean", q.shape[0] if q.ndim else 1)
    return _reduction.reduce(losses, reduction, q.size, last_axis)


def backward(log_prediction: np.ndarray | None = None, target: np.ndarray | None = None, grad_output: object = 1.0,
             reduction: str = "mean", log_target: bool = False, prediction: np.ndarray | None = None,
             clip_probability: float | None = None, last_axis: str | None = None) -> np.ndarray:
    """Vector-Jacobian product of the KL divergence with respect to the prediction (log q, or q).

    Spec: docs/spec/losses.md#kl-divergence

    Math:
        grad_losses = reduce_backward(grad_output)   "mean": / size; "batchmean": / shape[0]; "sum"; "none"
        d losses / d log q = -p
        d losses / d q = -p / q                 (prediction given as probabilities; -inf at q = 0 < p)
        with clip_probability = c: p and q clipped first, and 0 where q < c (the clip's derivative)
        grad = (d losses / d prediction) * grad_losses

    Args:
        log_prediction, target, reduction, log_target, prediction, clip_probability, last_axis: as ``forward``.
        grad_output: a scalar for "mean", "batchmean" and "sum"; an array of the losses' shape for "none".

    Returns:
        Gradient with respect to ``log_prediction`` (or ``prediction``), in the widest float dtype of the
        arguments (a Python float ``grad_output`` does not widen it).

    Raises:
        TypeError, ValueError: as ``forward``, and for a ``grad_output`` of the wrong type or shape.

    Example:
        >>> backward(np.log(np.array([0.5, 0.5])), np.array([1.0, 0.0]), reduction="sum")
        array([-1., -0.])
    """
    function = "kl_divergence.backward"
    p, _, _, q, name = _terms(function, log_prediction, prediction, target, log_target, clip_probability)
    last_axis = _reduction.check_last_axis(function, last_axis, q.ndim)
    reduction = _check_reduction(function, reduction, last_axis)
    dtype = check.result_dtype(q, p)
    if reduction == "batchmean":
        grad_losses = _reduction.reduce_backward(function, grad_output, "mean", q.shape, q.shape[0] if q.ndim else 1,
                                                 dtype)
    else:
        grad_losses = _reduction.reduce_backward(function, grad_output, reduction, q.shape, q.size, dtype, last_axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = -p if name == "log_prediction" else np.where(p == 0, 0.0, -p / q)
    if clip_probability is not None:
        given = check.float_array(function, "prediction", prediction)
        slope = np.where((given >= clip_probability) | np.isnan(given), slope, 0.0)
    with np.errstate(invalid="ignore"):  # 0 * inf is NaN, as IEEE says
        return (slope * grad_losses).astype(np.result_type(dtype, grad_losses))
