"""Logistic sigmoid: sigmoid(x) = 1 / (1 + exp(-x)), in a form that never overflows."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def forward(x: np.ndarray) -> np.ndarray:
    """Apply the logistic sigmoid elementwise.

    Spec: docs/spec/activations.md#sigmoid

    Math:
        e = exp(-|x|)                    (in [0, 1]: exp never overflows)
        y = 1 / (1 + e)    if x >= 0
        y = e / (1 + e)    if x < 0      (= exp(x) / (1 + exp(x)))

    Args:
        x: real floating-point array of any shape.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once; sigmoid(-inf) = 0,
        sigmoid(inf) = 1, NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array.

    Example:
        >>> forward(np.array([-np.inf, 0.0, np.inf]))
        array([0. , 0.5, 1. ])
    """
    x = check.float_array("sigmoid.forward", "x", x)
    x64 = x.astype(np.float64)
    e = np.exp(-np.abs(x64))
    y = np.where(x64 >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return y.astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """Vector-Jacobian product of the sigmoid: grad_output * sigmoid(x) * (1 - sigmoid(x)).

    Spec: docs/spec/activations.md#sigmoid

    Math:
        e = exp(-|x|)
        dy_dx = e / (1 + e)**2           (= y * (1 - y), without the cancellation in 1 - y when y rounds to 1)
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes; 0 at x = ±inf.

    Raises:
        TypeError: if an argument is not a real floating-point array.
        ValueError: if the shapes differ.

    Example:
        >>> backward(np.array([0.0, np.inf]), np.array([8.0, 8.0]))
        array([2., 0.])
    """
    x = check.float_array("sigmoid.backward", "x", x)
    grad_output = check.float_array("sigmoid.backward", "grad_output", grad_output)
    check.same_shape("sigmoid.backward", "grad_output", grad_output, "x", x)
    e = np.exp(-np.abs(x.astype(np.float64)))
    dy_dx = e / (1.0 + e) ** 2
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output))
