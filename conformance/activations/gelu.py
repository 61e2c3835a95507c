"""Bounds of gelu (reference/activations/gelu.py), exact (erf) and tanh-approximated (``approximate="tanh"``,
the catalogue's gelu_tanh).

Spec: docs/spec/error-budgets.md#elementwise
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, flushed_products
from nnspec.reference import _special, dtypes

#: The cubic coefficient of the tanh approximation (docs/spec/activations.md#gelu-tanh).
_CUBIC = 0.044715


def _tanh_form(params: Mapping[str, object]) -> bool:
    return params.get("approximate", "none") == "tanh"


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """0.5*x*(1 + t), t = tanh(inner): t's own error, and the error of inner (3 products, 1 add) carried by
    tanh' = 1 - t^2. 0.5*x*(1 + erf(x/sqrt2)): erf's error times 0.5|x|, the cancellation 1 + erf when erf ~ -1,
    and the rounding of x/sqrt2 carried by erf' = sqrt(2/pi) * exp(-x^2/2)."""
    u = fmt.unit_roundoff
    x = arrays["x"]
    if _tanh_form(params):
        k = np.sqrt(2.0 / np.pi)
        inner = k * (x + _CUBIC * x**3)
        t = np.tanh(inner)
        return u * (0.5 * np.abs(x) * ((LIBM_ULPS + 3) * (1 + np.abs(t)) + 5 * (1 - t * t) * np.abs(inner)))
    e = _special.erf(x / np.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    return u * (0.5 * np.abs(x) * (LIBM_ULPS + 3) * (1 + np.abs(e)) + 2 * x * x * pdf)


def _tanh_form_backward(x: np.ndarray, grad: np.ndarray, fmt: dtypes.Format) -> np.ndarray:
    """0.5(1+t) + 0.5 x (1-t^2) slope: each term's rounding, and t's error carried into both terms. t's error is
    tanh's own (LIBM_ULPS u |t|, absolute: it does not shrink with 1 - t^2 when tanh saturates) plus inner's
    rounding through tanh' = 1 - t^2; 1 - t^2 turns an error e of t into 2|t| e. For a tiny g, a flushed
    product g (1 - t^2) is then scaled by up to 0.5 |x| slope (six products of g, at most; TensorFlow's float32
    gradient at x = 4.5, g = 3.5e-33 loses 6.6 smallest normals so)."""
    u, k, c = fmt.unit_roundoff, np.sqrt(2.0 / np.pi), _CUBIC
    inner = k * (x + c * x**3)
    t = np.tanh(inner)
    slope = k * (1 + 3 * c * x * x)
    t_error = LIBM_ULPS * np.abs(t) + 5 * (1 - t * t) * np.abs(inner)
    terms = ((LIBM_ULPS + 8) * (0.5 * (1 + np.abs(t)) + 0.5 * np.abs(x) * (1 - t * t) * slope)
             + 0.5 * t_error * (1 + 2 * np.abs(x) * slope * np.abs(t)))
    with np.errstate(invalid="ignore", over="ignore"):
        amplification = np.maximum(2.0, np.maximum(1.0, np.abs(x)) * np.maximum(1.0, slope))
    return u * np.abs(grad) * terms + flushed_products(6, amplification, fmt)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """Phi(x) + x*phi(x): erf's error (with the cancellation 1 + erf), exp's error and the rounding of x^2/2;
    the tanh form in ``_tanh_form_backward``."""
    u = fmt.unit_roundoff
    x = arrays["x"]
    if _tanh_form(params):
        return {"x": _tanh_form_backward(x, grad, fmt)}
    e = _special.erf(x / np.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    terms = 0.5 * (1 + np.abs(e)) + np.abs(x) * pdf * (1 + x * x)
    flushed = flushed_products(4, np.maximum(1.0, np.abs(x)), fmt)  # g phi(x) flushed, then times x
    return {"x": (LIBM_ULPS + 6) * u * np.abs(grad) * terms + flushed}


def second_derivative(z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)|: phi(z) (2 - z^2) for the erf form; the tanh form's derivative of 0.5(1+t) + 0.5 z (1-t^2) s1."""
    if not _tanh_form(params):
        pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
        return np.abs(pdf * (2 - z * z))
    k, c = np.sqrt(2 / np.pi), _CUBIC
    t = np.tanh(k * (z + c * z**3))
    s1, s2 = k * (1 + 3 * c * z * z), 6 * k * c * z
    return np.abs((1 - t * t) * s1 - z * t * (1 - t * t) * s1 * s1 + 0.5 * z * (1 - t * t) * s2)
