"""Dense (fully connected) layer: y = x @ weight + bias, weight in the (in_features, out_features) layout."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["DenseGrads", "backward", "forward"]


class DenseGrads(NamedTuple):
    """Gradients of the loss with respect to each input of a dense layer, each shaped like that input.

    ``bias`` is None when the layer has no bias.
    """

    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None


def _checked(function: str, x, weight, bias) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate the arguments shared by forward and backward; return them as arrays."""
    x = check.float_array(function, "x", x)
    weight = check.float_array(function, "weight", weight)
    check.check_shape(function, "weight", weight, (None, None))
    in_features, out_features = weight.shape
    if x.ndim not in (1, 2):
        raise ValueError(f"{function}: x must have shape (in_features,) or (N, in_features), got {x.shape}")
    check.check_shape(function, "x", x, (None,) * (x.ndim - 1) + (in_features,))
    if bias is not None:
        bias = check.float_array(function, "bias", bias)
        check.check_shape(function, "bias", bias, (out_features,))
    return x, weight, bias


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Apply a dense layer to a batch of row vectors (or to one vector).

    Spec: docs/spec/perceptron-and-dense.md#dense

    Math:
        x_rows = x                     (a 1-d x is a batch of one row, N = 1)
        z = x_rows @ weight            z[n, j] = sum_i x[n, i] * weight[i, j]
        y = z + bias                   the bias row is added to every row n (when bias is not None)

    Args:
        x: real floating-point array of shape (N, in_features), or (in_features,) for a single vector.
        weight: array of shape (in_features, out_features) (the nnspec and Keras layout, not PyTorch's).
        bias: array of shape (out_features,), or None for a layer without bias.

    Returns:
        Array of shape (N, out_features), or (out_features,) for a 1-d ``x``, in the widest input dtype.

    Raises:
        TypeError: if an argument is not a real floating-point array.
        ValueError: if a shape does not match the layout above.

    Example:
        >>> weight = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]])
        >>> forward(np.array([[1.0, 2.0]]), weight, np.array([0.0, 1.0, 0.5]))  # [1 + 1, 2 + 1, -1 + 4 + 0.5]
        array([[2. , 3. , 3.5]])
    """
    x, weight, bias = _checked("dense.forward", x, weight, bias)
    dtype = check.result_dtype(x, weight) if bias is None else check.result_dtype(x, weight, bias)
    x_rows = x if x.ndim == 2 else x[np.newaxis, :]
    z = x_rows @ weight
    y = z if bias is None else z + bias
    return y.reshape(x.shape[:-1] + (weight.shape[1],)).astype(dtype, copy=False)


def backward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
             grad_output: np.ndarray | None = None) -> DenseGrads:
    """Vector-Jacobian product of the dense layer with respect to x, weight and bias.

    Spec: docs/spec/perceptron-and-dense.md#dense-backward

    Math:
        g = grad_output                      shape (N, out_features); a 1-d x is a batch of one (N = 1)
        grad_x = g @ weight.T                grad_x[n, i] = sum_j g[n, j] * weight[i, j]
        grad_weight = x.T @ g                grad_weight[i, j] = sum_n x[n, i] * g[n, j]
        grad_bias = sum_n g[n, :]            the bias was broadcast over the batch, so its gradient is summed

    Args:
        x: the forward input, shape (N, in_features) or (in_features,).
        weight: the forward weight, shape (in_features, out_features).
        bias: the forward bias, shape (out_features,), or None (the default: keyword calls may omit it).
        grad_output: gradient of the loss with respect to the output, shaped like the forward output; required
            (its default None only lets ``bias`` have one).

    Returns:
        ``DenseGrads(x, weight, bias)``, each shaped like its input (``bias`` is None when ``bias`` is None),
        in the widest dtype of the arguments.

    Raises:
        TypeError: if an argument is not a real floating-point array, or ``grad_output`` is missing.
        ValueError: if a shape does not match, including ``grad_output`` against the forward output.

    Example:
        >>> grads = backward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2), np.zeros(2), np.ones((2, 2)))
        >>> grads.bias
        array([2., 2.])
        >>> grads.weight
        array([[4., 4.],
               [6., 6.]])
    """
    x, weight, bias = _checked("dense.backward", x, weight, bias)
    if grad_output is None:
        raise TypeError("dense.backward: grad_output is required, got None")
    grad_output = check.float_array("dense.backward", "grad_output", grad_output)
    check.check_shape("dense.backward", "grad_output", grad_output, x.shape[:-1] + (weight.shape[1],))
    arrays = (x, weight, grad_output) if bias is None else (x, weight, bias, grad_output)
    dtype = check.result_dtype(*arrays)
    x_rows = x if x.ndim == 2 else x[np.newaxis, :]
    g = grad_output if grad_output.ndim == 2 else grad_output[np.newaxis, :]
    grad_x = g @ weight.T
    grad_weight = x_rows.T @ g
    grad_bias = None if bias is None else g.sum(axis=0)
    return DenseGrads(
        x=grad_x.reshape(x.shape).astype(dtype, copy=False),
        weight=grad_weight.astype(dtype, copy=False),
        bias=None if grad_bias is None else grad_bias.astype(dtype, copy=False),
    )
