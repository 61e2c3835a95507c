"""The arithmetic layer_norm and batch_norm share: standardize along one axis, scale and shift, and its VJP.

Spec: docs/spec/normalization.md#standardize
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check


class NormGrads(NamedTuple):
    """Gradients of the loss with respect to x, weight and bias, each shaped like that input."""

    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray


def checked(function: str, x, weight, bias, eps, *, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Validate x (at least 1-d for axis -1, 2-d for axis 0), weight and bias (x's other axis) and eps >= 0."""
    x = check.float_array(function, "x", x, min_ndim=1 if axis == -1 else 2, allow_empty=False)
    features = x.shape[-1]
    weight = check.float_array(function, "weight", weight)
    check.check_shape(function, "weight", weight, (features,))
    bias = check.float_array(function, "bias", bias)
    check.check_shape(function, "bias", bias, (features,))
    eps = check.real_number(function, "eps", eps, low=0.0)
    return x, weight, bias, eps


def statistics(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the biased variance along ``axis`` (two passes: the variance of x - mean), kept as axes."""
    count = x.shape[axis]
    mean = np.sum(x, axis=axis, keepdims=True) / count
    variance = np.sum((x - mean) ** 2, axis=axis, keepdims=True) / count
    return mean, variance


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float, axis: int) -> np.ndarray:
    """y = (x - mean) / sqrt(variance + eps) * weight + bias, the statistics along ``axis``."""
    dtype = check.result_dtype(x, weight, bias)
    mean, variance = statistics(x, axis)
    x_hat = (x - mean) / np.sqrt(variance + eps)
    return (x_hat * weight + bias).astype(dtype, copy=False)


def backward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float, axis: int,
             grad_output: np.ndarray) -> NormGrads:
    """The VJP of :func:`forward`: weight and bias gradients summed over every axis they were broadcast along."""
    dtype = check.result_dtype(x, weight, bias, grad_output)
    count = x.shape[axis]
    mean, variance = statistics(x, axis)
    inv_std = 1.0 / np.sqrt(variance + eps)
    x_hat = (x - mean) * inv_std
    g_hat = grad_output * weight
    grad_x = inv_std * (g_hat - np.sum(g_hat, axis=axis, keepdims=True) / count
                        - x_hat * np.sum(g_hat * x_hat, axis=axis, keepdims=True) / count)
    leading = tuple(range(x.ndim - 1))
    return NormGrads(x=grad_x.astype(dtype, copy=False),
                     weight=np.sum(grad_output * x_hat, axis=leading).astype(dtype, copy=False),
                     bias=np.sum(grad_output, axis=leading).astype(dtype, copy=False))
