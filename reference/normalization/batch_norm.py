"""Batch normalization in training mode: each channel standardized over the batch, then scaled and shifted."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.normalization import _standardize
from nnspec.reference.normalization._standardize import NormGrads

__all__ = ["DEFAULT_EPS", "NormGrads", "backward", "forward"]

#: PyTorch's default (torch.nn.BatchNorm1d, eps=1e-05); Keras's BatchNormalization defaults to epsilon=1e-3.
DEFAULT_EPS = 1e-5


def _checked(function: str, x, weight, bias, eps):
    x, weight, bias, eps = _standardize.checked(function, x, weight, bias, eps, axis=0)
    check.check_shape(function, "x", x, (None, None))
    return x, weight, bias, eps


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Normalize every channel (column) of x with the statistics of this batch, then scale and shift it.

    Spec: docs/spec/normalization.md#batch-norm

    Math:
        mean[c] = sum_n x[n, c] / N
        variance[c] = sum_n (x[n, c] - mean[c])**2 / N      biased: divided by N, also where torch's running
                                                             variance takes the unbiased estimate
        x_hat = (x - mean) / sqrt(variance + eps)
        y = x_hat * weight + bias                            weight and bias have shape (C,)

    A batch of one has variance 0, so y = bias (torch refuses it in training mode; Keras returns bias); with
    eps = 0 a constant channel is 0 / 0 = NaN.

    Args:
        x: real floating-point array of shape (N, C), N >= 1.
        weight: array of shape (C,) (torch ``weight``, Keras ``gamma``).
        bias: array of shape (C,) (torch ``bias``, Keras ``beta``).
        eps: the number added to the variance, >= 0 (default PyTorch's 1e-5).

    Returns:
        Array of shape (N, C), in the widest input dtype.

    Raises:
        TypeError: if an argument is not a real floating-point array or eps is not a real number.
        ValueError: if x is not a non-empty (N, C) array, weight or bias is not (C,), or eps is negative.

    Example:
        >>> forward(np.array([[1.0, 5.0], [3.0, 9.0]]), np.array([1.0, 2.0]), np.array([0.0, 7.0]), eps=0.0)
        array([[-1.,  5.],
               [ 1.,  9.]])
    """
    x, weight, bias, eps = _checked("batch_norm.forward", x, weight, bias, eps)
    return _standardize.forward(x, weight, bias, eps, axis=0)


def backward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, grad_output: np.ndarray | None = None, *,
             eps: float = DEFAULT_EPS) -> NormGrads:
    """Vector-Jacobian product of training-mode batch normalization with respect to x, weight and bias.

    Spec: docs/spec/normalization.md#batch-norm-backward

    Math:
        g_hat = grad_output * weight
        grad_x = (g_hat - mean_n(g_hat) - x_hat * mean_n(g_hat * x_hat)) / sqrt(variance + eps)
        grad_weight[c] = sum_n grad_output[n, c] * x_hat[n, c]
        grad_bias[c] = sum_n grad_output[n, c]

    The batch statistics depend on every example, so grad_x couples the rows of a channel.

    Args:
        x, weight, bias, eps: as in :func:`forward`.
        grad_output: gradient of the loss with respect to the output, shape (N, C); required.

    Returns:
        ``NormGrads(x, weight, bias)``, each shaped like its input, in the widest dtype of the arguments.

    Raises:
        TypeError: as in :func:`forward`, or if ``grad_output`` is missing.
        ValueError: as in :func:`forward`, or if ``grad_output`` is not shaped like x.

    Example:
        >>> grads = backward(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), np.array([[1.0], [2.0]]), eps=0.0)
        >>> grads.bias, grads.weight, grads.x  # x_hat = [-1, 1]; with N = 2 no gradient reaches x
        (array([3.]), array([1.]), array([[0.],
               [0.]]))
    """
    x, weight, bias, eps = _checked("batch_norm.backward", x, weight, bias, eps)
    if grad_output is None:
        raise TypeError("batch_norm.backward: grad_output is required, got None")
    grad_output = check.float_array("batch_norm.backward", "grad_output", grad_output)
    check.same_shape("batch_norm.backward", "grad_output", grad_output, "x", x)
    return _standardize.backward(x, weight, bias, eps, 0, grad_output)
