"""Softplus: softplus(x) = log(1 + exp(x)) for every x, or PyTorch's linear-above-threshold variant."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check


def forward(x: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Apply softplus elementwise.

    Spec: docs/spec/activations.md#softplus

    Math:
        y = max(x, 0) + log1p(exp(-|x|))     (= log(1 + exp(x)); exp(-|x|) <= 1 never overflows)
        y = x    where x > threshold         (only when a threshold is given: the named variant)

    Args:
        x: real floating-point array of any shape.
        threshold: ``None`` (the default) for the exact function; a finite real ``t`` selects the variant
            "linear above threshold" (PyTorch's ``F.softplus`` with beta = 1, whose default is t = 20).

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once; finite for every
        finite ``x``; softplus(-inf) = 0, softplus(inf) = inf, NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array or ``threshold`` is not ``None`` or a number.
        ValueError: if ``threshold`` is not finite.

    Example:
        >>> forward(np.array([-np.inf, 0.0, 1e300])) == np.array([0.0, np.log(2.0), 1e300])
        array([ True,  True,  True])
        >>> forward(np.array([30.0]), threshold=20.0)
        array([30.])
    """
    x = check.float_array("softplus.forward", "x", x)
    if threshold is not None:
        threshold = check.real_number("softplus.forward", "threshold", threshold)
    x64 = x.astype(np.float64)
    y = np.maximum(x64, 0.0) + np.log1p(np.exp(-np.abs(x64)))
    if threshold is not None:
        y = np.where(x64 > threshold, x64, y)
    return y.astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Vector-Jacobian product of softplus: grad_output * sigmoid(x) (times 1 above a threshold).

    Spec: docs/spec/activations.md#softplus

    Math:
        e = exp(-|x|)
        dy_dx = 1 / (1 + e) if x >= 0 else e / (1 + e)     (= sigmoid(x), the derivative of log(1 + exp(x)))
        dy_dx = 1    where x > threshold                    (only when a threshold is given)
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        threshold: as in ``forward``; the test is on the input x, never on the output.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes.

    Raises:
        TypeError: if an array is not real floating-point or ``threshold`` is not ``None`` or a number.
        ValueError: if the shapes differ or ``threshold`` is not finite.

    Example:
        >>> backward(np.array([0.0, -np.inf, np.inf]), np.array([6.0, 6.0, 6.0]))
        array([3., 0., 6.])
    """
    x = check.float_array("softplus.backward", "x", x)
    grad_output = check.float_array("softplus.backward", "grad_output", grad_output)
    check.same_shape("softplus.backward", "grad_output", grad_output, "x", x)
    if threshold is not None:
        threshold = check.real_number("softplus.backward", "threshold", threshold)
    x64 = x.astype(np.float64)
    e = np.exp(-np.abs(x64))
    dy_dx = np.where(x64 >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    if threshold is not None:
        dy_dx = np.where(x64 > threshold, 1.0, dy_dx)
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output))
