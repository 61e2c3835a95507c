"""Softmax along one axis: softmax(x)_i = exp(x_i) / sum_j exp(x_j), shifted by the row max."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def _validated(function: str, x: object, axis: object) -> tuple[np.ndarray, int]:
    x = check.float_array(function, "x", x, min_ndim=1)
    axis = check.axis_index(function, "axis", axis, x.ndim)
    if x.shape[axis] == 0:
        raise ValueError(f"{function}: x must have at least one entry along axis {axis}, got shape {x.shape}")
    return x, axis


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """The float64 softmax of the float64 array x (the Math block of ``forward``)."""
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf (branch not taken) and x - m -> -inf
        d = np.where(x == m, 0.0, x - m)
    e = np.exp(d)
    y = e / np.sum(e, axis=axis, keepdims=True)
    return np.where(m == -np.inf, 0.0, y)


def forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax of ``x`` along ``axis``.

    Spec: docs/spec/activations.md#softmax

    Math:
        m = max_j x_j                        (the row max)
        d_i = x_i - m, and d_i = 0 where x_i = m (also where x_i = m = +inf)
        y_i = exp(d_i) / sum_j exp(d_j)      (every exp(d_i) <= 1, and exp(0) = 1 keeps the sum >= 1)
        y_i = 0 for every i where m = -inf   (pinned: a row of only -inf has no mass)

    Args:
        x: real floating-point array with at least one dimension and at least one entry along ``axis``.
        axis: the axis that sums to 1.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once. -inf entries get 0;
        the +inf entries of a row share its mass equally (one +inf entry gives the one-hot limit); a row
        with a NaN is all NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array or ``axis`` is not an int.
        ValueError: if ``x`` is 0-d, ``axis`` is out of range, or the axis is empty.

    Example:
        >>> forward(np.array([[0.0, np.log(3.0)], [-np.inf, -np.inf]]))
        array([[0.25, 0.75],
               [0.  , 0.  ]])
    """
    x, axis = _validated("softmax.forward", x, axis)
    return _softmax(x.astype(np.float64), axis).astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of softmax along ``axis``.

    Spec: docs/spec/activations.md#softmax

    Math:
        y = softmax(x)                       (as in forward)
        s = sum_j grad_output_j * y_j
        grad_x_i = y_i * (grad_output_i - s)

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        axis: the softmax axis.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes; 0 on a row of only
        -inf (where y = 0).

    Raises:
        TypeError: if an array is not real floating-point or ``axis`` is not an int.
        ValueError: if the shapes differ, ``x`` is 0-d, ``axis`` is out of range or the axis is empty.

    Example:
        >>> backward(np.array([0.0, 0.0]), np.array([1.0, 3.0]))
        array([-0.5,  0.5])
    """
    x, axis = _validated("softmax.backward", x, axis)
    grad_output = check.float_array("softmax.backward", "grad_output", grad_output)
    check.same_shape("softmax.backward", "grad_output", grad_output, "x", x)
    y = _softmax(x.astype(np.float64), axis)
    s = np.sum(grad_output * y, axis=axis, keepdims=True)
    return (y * (grad_output - s)).astype(check.result_dtype(x, grad_output))
