"""Hyperbolic tangent: tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def forward(x: np.ndarray) -> np.ndarray:
    """Apply the hyperbolic tangent elementwise.

    Spec: docs/spec/activations.md#tanh

    Math:
        y = tanh(x)                      (numpy's tanh: finite for every x, ±1 at ±inf)

    Args:
        x: real floating-point array of any shape.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once; NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array.

    Example:
        >>> forward(np.array([-np.inf, 0.0, np.inf]))
        array([-1.,  0.,  1.])
    """
    x = check.float_array("tanh.forward", "x", x)
    return np.tanh(x.astype(np.float64)).astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """Vector-Jacobian product of tanh: grad_output * (1 - tanh(x)**2).

    Spec: docs/spec/activations.md#tanh

    Math:
        e = exp(-|x|)
        dy_dx = 4 * e**2 / (1 + e**2)**2     (= 1 - tanh(x)**2 = sech(x)**2, without the cancellation
                                              in 1 - tanh(x)**2 when tanh(x) rounds to ±1)
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
        >>> backward(np.array([0.0, -np.inf]), np.array([3.0, 3.0]))
        array([3., 0.])
    """
    x = check.float_array("tanh.backward", "x", x)
    grad_output = check.float_array("tanh.backward", "grad_output", grad_output)
    check.same_shape("tanh.backward", "grad_output", grad_output, "x", x)
    e = np.exp(-np.abs(x.astype(np.float64)))
    dy_dx = 4.0 * e**2 / (1.0 + e**2) ** 2
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output))
