"""Gaussian error linear unit: gelu(x) = x * Phi(x), exact (erf) or with the tanh approximation."""

from __future__ import annotations

import math

import numpy as np

from nnspec.reference import _validation as check

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715  # the coefficient of x**3 in the tanh approximation (Hendrycks and Gimpel, 2016)
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = 0.5 * (1 + erf(x / sqrt(2))) = 0.5 * erfc(-x / sqrt(2)); erfc keeps full accuracy for x << 0."""
    return 0.5 * _erfc(-x / math.sqrt(2.0))


def _tanh_gate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s = 0.5 * (1 + tanh(z)) = sigmoid(2z) without cancellation, and e = exp(-|2z|), for the z of gelu-tanh."""
    z = SQRT_2_OVER_PI * (x + CUBIC * x * x * x)
    e = np.exp(-np.abs(2.0 * z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s, e


def forward(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """Apply gelu elementwise: exactly (``approximate="none"``) or with the tanh approximation (``"tanh"``).

    Spec: docs/spec/activations.md#gelu (exact) and docs/spec/activations.md#gelu-tanh

    Math:
        approximate="none":
            cdf = 0.5 * erfc(-x / sqrt(2))             (Phi(x) = 0.5 * (1 + erf(x / sqrt(2))))
            y = x * cdf                                (0 where cdf = 0, the limit at x = -inf)
        approximate="tanh":
            z = sqrt(2 / pi) * (x + 0.044715 * x**3)
            e = exp(-|2 z|)
            s = 1 / (1 + e) if z >= 0 else e / (1 + e)  (= 0.5 * (1 + tanh(z)), no cancellation for z << 0)
            y = x * s                                  (0 where s = 0, the limit at x = -inf)

    Args:
        x: real floating-point array of any shape.
        approximate: ``"none"`` or ``"tanh"``.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once; gelu(-inf) = 0
        (pinned: IEEE would give -inf * 0 = NaN), gelu(inf) = inf, NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array.
        ValueError: if ``approximate`` is not ``"none"`` or ``"tanh"``.

    Example:
        >>> forward(np.array([-np.inf, 0.0, np.inf]))
        array([ 0.,  0., inf])
        >>> round(float(forward(np.array(1.0))), 4)  # 1 * Phi(1), from a table of the normal CDF
        0.8413
        >>> forward(np.array([-np.inf, 0.0, 10.0]), approximate="tanh")
        array([ 0.,  0., 10.])
    """
    x = check.float_array("gelu.forward", "x", x)
    approximate = check.choice("gelu.forward", "approximate", approximate, ("none", "tanh"))
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # x**3 -> inf and -inf * 0, both settled by the limits
        gate = _normal_cdf(x64) if approximate == "none" else _tanh_gate(x64)[0]
        y = np.where(gate == 0, 0.0, x64 * gate)
    return y.astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray, approximate: str = "none") -> np.ndarray:
    """Vector-Jacobian product of gelu (exact or tanh approximation).

    Spec: docs/spec/activations.md#gelu (exact) and docs/spec/activations.md#gelu-tanh

    Math:
        approximate="none":
            cdf = 0.5 * erfc(-x / sqrt(2))
            pdf = exp(-x**2 / 2) / sqrt(2 pi)
            dy_dx = cdf + x * pdf                      (x * pdf = 0 where pdf = 0, the limit at x = ±inf)
        approximate="tanh":
            z, e, s as in forward
            ds = e / (1 + e)**2                        (= s * (1 - s), the derivative of sigmoid at 2z)
            dz_dx = sqrt(2 / pi) * (1 + 3 * 0.044715 * x**2)
            dy_dx = s + 2 * x * ds * dz_dx             (the second term = 0 where ds = 0, also at x = ±inf)
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        approximate: ``"none"`` or ``"tanh"``.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes; dy_dx is 0 at x = -inf
        and 1 at x = inf (the limits).

    Raises:
        TypeError: if an array is not real floating-point.
        ValueError: if the shapes differ or ``approximate`` is not ``"none"`` or ``"tanh"``.

    Example:
        >>> backward(np.array([-np.inf, 0.0, np.inf]), np.array([4.0, 4.0, 4.0]))
        array([0., 2., 4.])
    """
    x = check.float_array("gelu.backward", "x", x)
    grad_output = check.float_array("gelu.backward", "grad_output", grad_output)
    check.same_shape("gelu.backward", "grad_output", grad_output, "x", x)
    approximate = check.choice("gelu.backward", "approximate", approximate, ("none", "tanh"))
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # x**2 -> inf and inf * 0, settled by the limits
        if approximate == "none":
            pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
            dy_dx = _normal_cdf(x64) + np.where(pdf == 0, 0.0, x64 * pdf)
        else:
            s, e = _tanh_gate(x64)
            ds = e / (1.0 + e) ** 2
            dz_dx = SQRT_2_OVER_PI * (1.0 + 3.0 * CUBIC * x64 * x64)
            dy_dx = s + np.where(ds == 0, 0.0, 2.0 * x64 * ds * dz_dx)
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output))
