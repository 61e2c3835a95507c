"""Layer normalization: each example standardized over its last axis, then scaled and shifted per feature."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.normalization import _standardize
from nnspec.reference.normalization._standardize import NormGrads

__all__ = ["DEFAULT_EPS", "NormGrads", "backward", "forward"]

#: PyTorch's default (torch.nn.LayerNorm, eps=1e-05); Keras's LayerNormalization defaults to epsilon=1e-3.
DEFAULT_EPS = 1e-5


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Normalize every row of x (its last axis, of n features), then scale by weight and shift by bias.

    Spec: docs/spec/normalization.md#layer-norm

    Math:
        mean = sum_i x[..., i] / n
        variance = sum_i (x[..., i] - mean)**2 / n         biased: divided by n, not n - 1
        x_hat = (x - mean) / sqrt(variance + eps)           eps inside the square root
        y = x_hat * weight + bias                           weight and bias have shape (n,)

    Args:
        x: real floating-point array of shape (..., n), n >= 1.
        weight: array of shape (n,) (torch ``weight``, Keras ``gamma``).
        bias: array of shape (n,) (torch ``bias``, Keras ``beta``).
        eps: the number added to the variance, >= 0 (default PyTorch's 1e-5).

    Returns:
        Array shaped like x, in the widest input dtype.

    Raises:
        TypeError: if an argument is not a real floating-point array or eps is not a real number.
        ValueError: if x is empty or 0-d, weight or bias is not (n,), or eps is negative or not finite.

    Example:
        >>> forward(np.array([[1.0, 3.0]]), np.array([1.0, 2.0]), np.array([0.0, 10.0]), eps=0.0)
        array([[-1., 12.]])
    """
    x, weight, bias, eps = _standardize.checked("layer_norm.forward", x, weight, bias, eps, axis=-1)
    return _standardize.forward(x, weight, bias, eps, axis=-1)


def backward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, grad_output: np.ndarray | None = None, *,
             eps: float = DEFAULT_EPS) -> NormGrads:
    """Vector-Jacobian product of layer normalization with respect to x, weight and bias.

    Spec: docs/spec/normalization.md#layer-norm-backward

    Math:
        g_hat = grad_output * weight
        grad_x = (g_hat - mean_i(g_hat) - x_hat * mean_i(g_hat * x_hat)) / sqrt(variance + eps)
        grad_weight = sum over every row of grad_output * x_hat
        grad_bias = sum over every row of grad_output

    Args:
        x, weight, bias, eps: as in :func:`forward`.
        grad_output: gradient of the loss with respect to the output, shaped like x; required.

    Returns:
        ``NormGrads(x, weight, bias)``, each shaped like its input, in the widest dtype of the arguments.

    Raises:
        TypeError: as in :func:`forward`, or if ``grad_output`` is missing.
        ValueError: as in :func:`forward`, or if ``grad_output`` is not shaped like x.

    Example:
        >>> grads = backward(np.array([[1.0, 3.0]]), np.ones(2), np.zeros(2), np.array([[1.0, 2.0]]), eps=0.0)
        >>> grads.bias, grads.weight  # sum of g; sum of g * x_hat with x_hat = [-1, 1]
        (array([1., 2.]), array([-1.,  2.]))
        >>> grads.x  # the shift direction (1, 1) and the scale direction x_hat carry no gradient
        array([[0., 0.]])
    """
    x, weight, bias, eps = _standardize.checked("layer_norm.backward", x, weight, bias, eps, axis=-1)
    if grad_output is None:
        raise TypeError("layer_norm.backward: grad_output is required, got None")
    grad_output = check.float_array("layer_norm.backward", "grad_output", grad_output)
    check.same_shape("layer_norm.backward", "grad_output", grad_output, "x", x)
    return _standardize.backward(x, weight, bias, eps, -1, grad_output)
