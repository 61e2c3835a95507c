"""Identity activation: identity(x) = x (the "linear" activation of a dense layer)."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def forward(x: np.ndarray) -> np.ndarray:
    """Return a copy of ``x``.

    Spec: docs/spec/activations.md#identity

    Math:
        y = x

    Args:
        x: real floating-point array of any shape.

    Returns:
        A new array equal to ``x``, of its shape and dtype (a copy, so that writing to it never changes ``x``);
        ±inf and NaN are passed through.

    Raises:
        TypeError: if ``x`` is not a real floating-point array.

    Example:
        >>> forward(np.array([-2.0, 0.0, 3.0]))
        array([-2.,  0.,  3.])
    """
    x = check.float_array("identity.forward", "x", x)
    return x.copy()


def backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """Vector-Jacobian product of the identity: the gradient passes through unchanged.

    Spec: docs/spec/activations.md#identity

    Math:
        dy_dx = 1
        grad_x = grad_output

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.

    Returns:
        A new array equal to ``grad_output``, in the wider of the two dtypes.

    Raises:
        TypeError: if an argument is not a real floating-point array.
        ValueError: if the shapes differ.

    Example:
        >>> backward(np.array([-1.0, 2.0]), np.array([5.0, 7.0]))
        array([5., 7.])
    """
    x = check.float_array("identity.backward", "x", x)
    grad_output = check.float_array("identity.backward", "grad_output", grad_output)
    check.same_shape("identity.backward", "grad_output", grad_output, "x", x)
    return grad_output.astype(check.result_dtype(x, grad_output), copy=True)
