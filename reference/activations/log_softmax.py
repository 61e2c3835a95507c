"""Log-softmax along one axis: log_softmax(x)_i = x_i - log sum_j exp(x_j), shifted by the row max."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def _validated(function: str, x: object, axis: object) -> tuple[np.ndarray, int]:
    x = check.float_array(function, "x", x, min_ndim=1)
    axis = check.axis_index(function, "axis", axis, x.ndim)
    if x.shape[axis] == 0:
        raise ValueError(f"{function}: x must have at least one entry along axis {axis}, got shape {x.shape}")
    return x, axis


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """The float64 log-softmax of the float64 array x (the Math block of ``forward``)."""
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf (branch not taken) and x - m -> -inf
        d = np.where(x == m, 0.0, x - m)
    y = d - np.log(np.sum(np.exp(d), axis=axis, keepdims=True))
    return np.where(m == -np.inf, -np.inf, y)


def forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log-softmax of ``x`` along ``axis``.

    Spec: docs/spec/activations.md#log-softmax

    Math:
        m = max_j x_j                                (the row max)
        d_i = x_i - m, and d_i = 0 where x_i = m (also where x_i = m = +inf)
        y_i = d_i - log(sum_j exp(d_j))              (the sum is in [1, n]: its log never overflows)
        y_i = -inf for every i where m = -inf        (pinned: log of the softmax 0 of a row of only -inf)

    Args:
        x: real floating-point array with at least one dimension and at least one entry along ``axis``.
        axis: the axis along which exp(y) sums to 1.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once: <= 0, and finite
        wherever x is finite and the row spread max - x_i is below the float64 range. -inf entries give
        -inf; a row with k entries +inf gives -log(k) at them and -inf elsewhere; a row with a NaN is all NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array or ``axis`` is not an int.
        ValueError: if ``x`` is 0-d, ``axis`` is out of range, or the axis is empty.

    Example:
        >>> forward(np.array([1e8, 1e8])) == -np.log(2.0)
        array([ True,  True])
    """
    x, axis = _validated("log_softmax.forward", x, axis)
    return _log_softmax(x.astype(np.float64), axis).astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of log-softmax along ``axis``.

    Spec: docs/spec/activations.md#log-softmax

    Math:
        y = log_softmax(x)                           (as in forward)
        p = exp(y)                                   (= softmax(x); 0 on a row of only -inf)
        grad_x_i = grad_output_i - p_i * sum_j grad_output_j

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        axis: the log-softmax axis.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes; on a row of only -inf
        it is ``grad_output`` itself (the softmax term is 0 there).

    Raises:
        TypeError: if an array is not real floating-point or ``axis`` is not an int.
        ValueError: if the shapes differ, ``x`` is 0-d, ``axis`` is out of range or the axis is empty.

    Example:
        >>> backward(np.array([0.0, 0.0]), np.array([1.0, 3.0]))
        array([-1.,  1.])
    """
    x, axis = _validated("log_softmax.backward", x, axis)
    grad_output = check.float_array("log_softmax.backward", "grad_output", grad_output)
    check.same_shape("log_softmax.backward", "grad_output", grad_output, "x", x)
    p = np.exp(_log_softmax(x.astype(np.float64), axis))
    total = np.sum(grad_output, axis=axis, keepdims=True)
    return (grad_output - p * total).astype(check.result_dtype(x, grad_output))
