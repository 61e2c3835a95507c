"""The perceptron: one output unit, y = activation(x @ weight + bias), in the lecture's three steps."""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference import catalogue

__all__ = ["PerceptronGrads", "backward", "forward"]


class PerceptronGrads(NamedTuple):
    """Gradients of the loss with respect to x, weight and bias, each shaped like that input (bias: 0-d)."""

    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray


def _step_forward(z: np.ndarray) -> np.ndarray:
    """Heaviside step of the classic perceptron: 1 where z > 0, 0 where z <= 0, NaN stays NaN."""
    return np.heaviside(z, 0.0)


def _step_backward(z: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """The step's derivative is 0 wherever it exists; the convention extends it by 0 to z = 0."""
    return grad_output * np.zeros_like(z)


# Elementwise non-linearities only: the perceptron has a single output, so a row-wise softmax has no meaning.
_ACTIVATIONS = MappingProxyType({"step": SimpleNamespace(forward=_step_forward, backward=_step_backward),
                                 **catalogue.modules("elementwise")})


def _checked(function: str, x, weight, bias, activation: str, activation_params: dict):
    """Validate the arguments shared by forward and backward; return arrays, the activation and the dtype."""
    x = check.float_array(function, "x", x)
    weight = check.float_array(function, "weight", weight)
    check.check_shape(function, "weight", weight, (None,))
    if x.ndim not in (1, 2):
        raise ValueError(f"{function}: x must have shape (in_features,) or (N, in_features), got {x.shape}")
    check.check_shape(function, "x", x, (None,) * (x.ndim - 1) + weight.shape)
    python_float = type(bias) is float
    bias = check.float_array(function, "bias", bias)
    check.check_shape(function, "bias", bias, ())
    check.choice(function, "activation", activation, tuple(_ACTIVATIONS))
    if activation == "step" and activation_params:
        raise TypeError(f"{function}: activation 'step' takes no parameters, got {sorted(activation_params)}")
    # A Python float bias is weakly typed, as in numpy: it takes the dtype of x and weight.
    dtype = check.result_dtype(x, weight) if python_float else check.result_dtype(x, weight, bias)
    return x, weight, bias.astype(dtype), _ACTIVATIONS[activation], dtype


def forward(x: np.ndarray, weight: np.ndarray, bias: float | np.ndarray, activation: str = "sigmoid",
            **activation_params: object) -> np.ndarray:
    """Apply a perceptron: weighted sum of the inputs, plus a bias, through a non-linearity.

    Spec: docs/spec/perceptron-and-dense.md#perceptron

    Math:
        dot = x @ weight              dot[n] = sum_i x[n, i] * weight[i]
        z = dot + bias
        y = activation(z)             "step": y = 1 if z > 0 else 0 (the classic perceptron)

    Args:
        x: real floating-point array of shape (N, in_features), or (in_features,) for one input.
        weight: array of shape (in_features,).
        bias: a Python float or a 0-d array.
        activation: an elementwise activation of nnspec.reference.activations, or "step".
        **activation_params: keyword arguments of that activation, e.g. ``negative_slope``.

    Returns:
        Array of shape (N,), or 0-d for a 1-d ``x``, in the widest dtype of x, weight and an array bias.

    Raises:
        TypeError: if an argument is not a real floating-point array, or "step" is given parameters.
        ValueError: if a shape does not match, or the activation is unknown or not elementwise.

    Example:
        >>> forward(np.array([1.0, 2.0]), np.array([0.5, -1.0]), 1.5, activation="step")
        array(0.)
    """
    function = "perceptron.forward"
    x, weight, bias, act, dtype = _checked(function, x, weight, bias, activation, activation_params)
    dot = x @ weight
    z = dot + bias
    y = act.forward(z, **activation_params)
    return np.asarray(y).astype(dtype, copy=False)


def backward(x: np.ndarray, weight: np.ndarray, bias: float | np.ndarray, grad_output: np.ndarray,
             activation: str = "sigmoid", **activation_params: object) -> PerceptronGrads:
    """Vector-Jacobian product of the perceptron with respect to x, weight and bias.

    Spec: docs/spec/perceptron-and-dense.md#perceptron

    The step activation has derivative 0 wherever it has one, so every gradient through it is 0: a step
    perceptron cannot learn by gradient descent (Rosenblatt's rule updates it without a derivative).

    Math:
        z = x @ weight + bias                          recomputed, as in forward
        grad_z = grad_output * activation'(z)          the activation's vector-Jacobian product
        grad_x[n, i] = grad_z[n] * weight[i]
        grad_weight[i] = sum_n x[n, i] * grad_z[n]
        grad_bias = sum_n grad_z[n]                    the bias was broadcast over the batch

    Args:
        x, weight, bias, activation, activation_params: as in ``forward``.
        grad_output: gradient of the loss with respect to the output, shape (N,) or () like the output.

    Returns:
        ``PerceptronGrads(x, weight, bias)`` shaped like the inputs (``bias`` 0-d), in the forward dtype
        (or wider, if grad_output is wider).

    Raises:
        TypeError, ValueError: as in ``forward``, and if ``grad_output`` does not have the output's shape.

    Example:
        >>> backward(np.array([1.0, 2.0]), np.array([0.5, -1.0]), 1.5, np.array(2.0), activation="identity")
        PerceptronGrads(x=array([ 1., -2.]), weight=array([2., 4.]), bias=array(2.))
    """
    function = "perceptron.backward"
    x, weight, bias, act, dtype = _checked(function, x, weight, bias, activation, activation_params)
    grad_output = check.float_array(function, "grad_output", grad_output)
    check.check_shape(function, "grad_output", grad_output, x.shape[:-1])
    dtype = check.result_dtype(dtype, grad_output)
    z = np.asarray(x @ weight + bias)
    grad_z = act.backward(z, grad_output, **activation_params)
    x_rows = x if x.ndim == 2 else x[np.newaxis, :]
    grad_z_rows = np.reshape(grad_z, x_rows.shape[:1])
    grad_x = np.outer(grad_z_rows, weight)
    grad_weight = x_rows.T @ grad_z_rows
    grad_bias = grad_z_rows.sum()
    return PerceptronGrads(
        x=grad_x.reshape(x.shape).astype(dtype, copy=False),
        weight=grad_weight.astype(dtype, copy=False),
        bias=np.asarray(grad_bias, dtype=dtype),
    )
