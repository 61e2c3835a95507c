"""Rectified linear unit: relu(x) = max(x, 0), with relu'(0) = 0."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check

#: What the derivative is at a NaN input (docs/spec/conventions.md#nan-propagation): the spec's NaN, or the
#: branch a framework's select falls into: "positive" (1: torch, whose threshold_backward tests x <= 0) or
#: "negative" (0: JAX and TensorFlow, which test x > 0).
NAN_DERIVATIVES = ("nan", "positive", "negative")


def forward(x: np.ndarray, nan_derivative: str = "nan") -> np.ndarray:
    """Apply the rectified linear unit elementwise.

    Spec: docs/spec/activations.md#relu

    Math:
        y = x if x > 0 else 0

    Args:
        x: real floating-point array of any shape.
        nan_derivative: the backward's convention at NaN (see ``backward``), accepted so that one set of
            activation parameters serves forward and backward; the forward of NaN is NaN under every convention.

    Returns:
        Array of the shape and dtype of ``x``; NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array.

    Example:
        >>> forward(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """
    x = check.float_array("relu.forward", "x", x)
    check.choice("relu.forward", "nan_derivative", nan_derivative, NAN_DERIVATIVES)
    return np.maximum(x, 0.0)




def backward(x: np.ndarray, grad_output: np.ndarray, nan_derivative: str = "nan") -> np.ndarray:
    """Vector-Jacobian product of relu: pass the gradient where x > 0, zero elsewhere (also at x = 0).

    Spec: docs/spec/activations.md#relu

    Math:
        dy_dx = 1 if x > 0, 0 if x <= 0 (the convention relu'(0) = 0), NaN if x is NaN
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        nan_derivative: dy_dx at a NaN x: "nan" (the spec), or a framework's convention: "positive" (1) or
            "negative" (0), the branch its select takes.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes; NaN where ``x`` is NaN
        (a NaN input never yields a clean gradient).

    Raises:
        TypeError: if an argument is not a real floating-point array.
        ValueError: if the shapes differ.

    Example:
        >>> backward(np.array([-1.0, 0.0, 2.0]), np.array([5.0, 5.0, 5.0]))
        array([0., 0., 5.])
    """
    x = check.float_array("relu.backward", "x", x)
    grad_output = check.float_array("relu.backward", "grad_output", grad_output)
    check.same_shape("relu.backward", "grad_output", grad_output, "x", x)
    at_nan = {"nan": np.nan, "positive": 1.0, "negative": 0.0}[
        check.choice("relu.backward", "nan_derivative", nan_derivative, NAN_DERIVATIVES)]
    dy_dx = np.where(x > 0, 1.0, np.where(x <= 0, 0.0, at_nan))
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output), copy=False)
