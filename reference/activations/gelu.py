"""Gaussian error linear unit: gelu(x) = x * Phi(x), exact (erf) or with the tanh approximation.

Convention ``float32_constants`` (TensorFlow's tf.nn.gelu, docs/spec/activations.md#gelu-float32-constants): the
constant 1/sqrt(2) of the exact form and 0.044715 of the tanh form are rounded to float32 (sqrt(2/pi) is not);
the function is then x * 0.5 * erfc(-x * c) or its tanh form with those constants, differentiated exactly.
"""

from __future__ import annotations

import math

import numpy as np

from nnspec.reference import _special
from nnspec.reference import _validation as check

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715  # the coefficient of x**3 in the tanh approximation (Hendrycks and Gimpel, 2016)
INV_SQRT_2 = math.sqrt(0.5)


def _constants(function: str, float32_constants: object) -> tuple[float | None, float]:
    """(c, k): c = 1/sqrt(2) rounded to float32, or None for the exact 1/sqrt(2) (divided by sqrt(2), one
    rounding fewer); k = 0.044715, rounded to float32 under the ``float32_constants`` convention."""
    if not isinstance(float32_constants, (bool, np.bool_)):
        raise TypeError(f"{function}: float32_constants must be a bool, got {type(float32_constants).__name__}")
    if float32_constants:
        return float(np.float32(INV_SQRT_2)), float(np.float32(CUBIC))
    return None, CUBIC


def _normal_cdf(x: np.ndarray, c: float | None) -> np.ndarray:
    """0.5 * erfc(-c x); Phi(x) = 0.5 * (1 + erf(x / sqrt(2))) = 0.5 * erfc(-x / sqrt(2)) for c None. erfc keeps
    full accuracy for x << 0."""
    return 0.5 * _special.erfc(-x / math.sqrt(2.0) if c is None else -x * c)


def _normal_pdf(x: np.ndarray, c: float | None) -> np.ndarray:
    """d/dx 0.5 * erfc(-c x) = c exp(-(c x)**2) / sqrt(pi); exp(-x**2 / 2) / sqrt(2 pi) for c None."""
    if c is None:
        return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return c * np.exp(-(c * x) ** 2) / math.sqrt(math.pi)


def _tanh_gate(x: np.ndarray, cubic: float) -> tuple[np.ndarray, np.ndarray]:
    """s = 0.5 * (1 + tanh(z)) = sigmoid(2z) without cancellation, and e = exp(-|2z|), for the z of gelu-tanh."""
    z = SQRT_2_OVER_PI * (x + cubic * x * x * x)
    e = np.exp(-np.abs(2.0 * z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s, e


def forward(x: np.ndarray, approximate: str = "none", float32_constants: bool = False) -> np.ndarray:
    """Apply gelu elementwise: exactly (``approximate="none"``) or with the tanh approximation (``"tanh"``).

    Spec: docs/spec/activations.md#gelu (exact) and docs/spec/activations.md#gelu-tanh

    Math:
        c = 1 / sqrt(2), k = 0.044715                  (each rounded to float32 if float32_constants)
        approximate="none":
            cdf = 0.5 * erfc(-x * c)                   (Phi(x) = 0.5 * (1 + erf(x / sqrt(2))))
            y = x * cdf                                (-0 where cdf = 0: x * a positive number below the
                                                        smallest subnormal, and the limit at x = -inf)
        approximate="tanh":
            z = sqrt(2 / pi) * (x + k * x**3)
            e = exp(-|2 z|)
            s = 1 / (1 + e) if z >= 0 else e / (1 + e)  (= 0.5 * (1 + tanh(z)), no cancellation for z << 0)
            y = x * s                                  (-0 where s = 0, as above)

    Args:
        x: real floating-point array of any shape.
        approximate: ``"none"`` or ``"tanh"``.
        float32_constants: the convention of TensorFlow's tf.nn.gelu (constants rounded to float32).

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once; gelu(-inf) = -0
        (pinned: IEEE would give -inf * 0 = NaN), gelu(inf) = inf, NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array or ``float32_constants`` is not a bool.
        ValueError: if ``approximate`` is not ``"none"`` or ``"tanh"``.

    Example:
        >>> forward(np.array([-np.inf, -40.0, 0.0, np.inf]))
        array([-0., -0.,  0., inf])
        >>> round(float(forward(np.array(1.0))), 4)  # 1 * Phi(1), from a table of the normal CDF
        0.8413
        >>> forward(np.array([-np.inf, 0.0, 10.0]), approximate="tanh")
        array([-0.,  0., 10.])
    """
    x = check.float_array("gelu.forward", "x", x)
    approximate = check.choice("gelu.forward", "approximate", approximate, ("none", "tanh"))
    c, cubic = _constants("gelu.forward", float32_constants)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # x**3 -> inf and -inf * 0, both settled by the limits
        gate = _normal_cdf(x64, c) if approximate == "none" else _tanh_gate(x64, cubic)[0]
        y = np.where(gate == 0, np.copysign(0.0, x64), x64 * gate)
    return y.astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray, approximate: str = "none",
             float32_constants: bool = False) -> np.ndarray:
    """Vector-Jacobian product of gelu (exact or tanh approximation).

    Spec: docs/spec/activations.md#gelu (exact) and docs/spec/activations.md#gelu-tanh

    Math:
        c, k as in forward
        approximate="none":
            cdf = 0.5 * erfc(-x * c)
            pdf = c * exp(-(c x)**2) / sqrt(pi)        (= exp(-x**2 / 2) / sqrt(2 pi) for c = 1 / sqrt(2))
            dy_dx = cdf + x * pdf                      (x * pdf = 0 where pdf = 0, the limit at x = ±inf)
        approximate="tanh":
            z, e, s as in forward
            ds = e / (1 + e)**2                        (= s * (1 - s), the derivative of sigmoid at 2z)
            dz_dx = sqrt(2 / pi) * (1 + 3 * k * x**2)
            dy_dx = s + 2 * x * ds * dz_dx             (the second term = 0 where ds = 0, also at x = ±inf)
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.
        approximate: ``"none"`` or ``"tanh"``.
        float32_constants: the convention of TensorFlow's tf.nn.gelu (constants rounded to float32).

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes; dy_dx is 0 at x = -inf
        and 1 at x = inf (the limits).

    Raises:
        TypeError: if an array is not real floating-point or ``float32_constants`` is not a bool.
        ValueError: if the shapes differ or ``approximate`` is not ``"none"`` or ``"tanh"``.

    Example:
        >>> backward(np.array([-np.inf, 0.0, np.inf]), np.array([4.0, 4.0, 4.0]))
        array([0., 2., 4.])
    """
    x = check.float_array("gelu.backward", "x", x)
    grad_output = check.float_array("gelu.backward", "grad_output", grad_output)
    check.same_shape("gelu.backward", "grad_output", grad_output, "x", x)
    approximate = check.choice("gelu.backward", "approximate", approximate, ("none", "tanh"))
    c, cubic = _constants("gelu.backward", float32_constants)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # x**2 -> inf and inf * 0, settled by the limits
        if approximate == "none":
            pdf = _normal_pdf(x64, c)
            dy_dx = _normal_cdf(x64, c) + np.where(pdf == 0, 0.0, x64 * pdf)
        else:
            s, e = _tanh_gate(x64, cubic)
            ds = e / (1.0 + e) ** 2
            dz_dx = SQRT_2_OVER_PI * (1.0 + 3.0 * cubic * x64 * x64)
            dy_dx = s + np.where(ds == 0, 0.0, 2.0 * x64 * ds * dz_dx)
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output))
