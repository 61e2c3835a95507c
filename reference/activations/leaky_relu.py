"""Leaky rectified linear unit: leaky_relu(x) = x if x > 0 else negative_slope * x.

Convention ``float32_slope`` (TensorFlow's LeakyRelu op holds alpha as a C++ float,
docs/spec/activations.md#leaky-relu-float32-slope): negative_slope is rounded to float32 before use.
"""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def _slope(function: str, negative_slope: object, float32_slope: object) -> float:
    """The checked slope, rounded to float32 under the ``float32_slope`` convention."""
    negative_slope = check.real_number(function, "negative_slope", negative_slope)
    if not isinstance(float32_slope, (bool, np.bool_)):
        raise TypeError(f"{function}: float32_slope must be a bool, got {type(float32_slope).__name__}")
    return float(np.float32(negative_slope)) if float32_slope else negative_slope


def forward(x: np.ndarray, negative_slope: float = 0.01, float32_slope: bool = False,
            nan_derivative: str = "nan") -> np.ndarray:
    """Apply the leaky rectified linear unit elementwise.

    Spec: docs/spec/activations.md#leaky-relu

    Math:
        y = x                     if x > 0
        y = negative_slope * x    if x <= 0

    Args:
        x: real floating-point array of any shape.
        negative_slope: the slope for x <= 0, any finite real (0 gives relu, negative values are allowed).
        float32_slope: use negative_slope rounded to float32 (TensorFlow's convention).
        nan_derivative: the backward's convention at NaN (see ``backward``), accepted so that one set of
            activation parameters serves forward and backward; the forward of NaN is NaN under every convention.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once. At x = -inf, y is the
        limit -inf * negative_slope, which is 0 when negative_slope = 0 (pinned: IEEE would give 0 * inf = NaN);
        NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array, ``negative_slope`` is not a real number or
            ``float32_slope`` is not a bool.
        ValueError: if ``negative_slope`` is not finite.

    Example:
        >>> forward(np.array([-2.0, 0.0, 3.0]), negative_slope=0.5)
        array([-1.,  0.,  3.])
    """
    x = check.float_array("leaky_relu.forward", "x", x)
    check.choice("leaky_relu.forward", "nan_derivative", nan_derivative, ("nan", "positive", "negative"))
    negative_slope = _slope("leaky_relu.forward", negative_slope, float32_slope)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # 0 * -inf (its limit 0 is set below); overflow is inf
        y = np.where(x64 > 0, x64, negative_slope * x64)
    if negative_slope == 0:
        y = np.where(x64 == -np.inf, 0.0, y)
    return y.astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray, negative_slope: float = 0.01,
             float32_slope: bool = False, nan_derivative: str = "nan") -> np.ndarray:
    """Vector-Jacobian product of leaky relu, with the convention leaky_relu'(0) = negative_slope.

    Spec: docs/spec/activations.md#leaky-relu

    Math:
        dy_dx = 1 if x > 0, negative_slope if x <= 0 (also at x = 0), NaN if x is NaN
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        negative_slope: the slope for x <= 0, any finite real.
        float32_slope: use negative_slope rounded to float32 (TensorFlow's convention).
        nan_derivative: dy_dx at a NaN x: "nan" (the spec), or the branch a framework's select takes:
            "positive" (1) or "negative" (negative_slope: torch, JAX and TensorFlow all test x > 0).

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes.

    Raises:
        TypeError: if an array is not real floating-point, ``negative_slope`` is not a real number or
            ``float32_slope`` is not a bool.
        ValueError: if the shapes differ or ``negative_slope`` is not finite.

    Example:
        >>> backward(np.array([-1.0, 0.0, 2.0]), np.array([4.0, 4.0, 4.0]), negative_slope=0.25)
        array([1., 1., 4.])
    """
    x = check.float_array("leaky_relu.backward", "x", x)
    grad_output = check.float_array("leaky_relu.backward", "grad_output", grad_output)
    check.same_shape("leaky_relu.backward", "grad_output", grad_output, "x", x)
    negative_slope = _slope("leaky_relu.backward", negative_slope, float32_slope)
    at_nan = {"nan": np.nan, "positive": 1.0, "negative": negative_slope}[
        check.choice("leaky_relu.backward", "nan_derivative", nan_derivative, ("nan", "positive", "negative"))]
    dy_dx = np.where(x > 0, 1.0, np.where(x <= 0, negative_slope, at_nan))
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output), copy=False)
