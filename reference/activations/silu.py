"""SiLU (swish): silu(x) = x * sigmoid(x), with the sigmoid in the form that never overflows."""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.activations import sigmoid


def forward(x: np.ndarray) -> np.ndarray:
    """Apply silu elementwise.

    Spec: docs/spec/activations.md#silu

    Math:
        s = sigmoid(x)                   (reference/activations/sigmoid.py: exp(-|x|), never overflows)
        y = x * s                        (-0 where s = 0: the limit at x = -inf, where IEEE gives -inf * 0 = NaN)

    Args:
        x: real floating-point array of any shape.

    Returns:
        Array of the shape and dtype of ``x``, evaluated in float64 and rounded once; silu(-inf) = -0 (pinned),
        silu(inf) = inf, silu(-0.0) = -0.0, NaN stays NaN.

    Raises:
        TypeError: if ``x`` is not a real floating-point array.

    Example:
        >>> forward(np.array([-np.inf, -0.0, 2.0, np.inf]))  # 2 * sigmoid(2) = 2 / (1 + e**-2)
        array([-0.        , -0.        ,  1.76159416,         inf])
    """
    x = check.float_array("silu.forward", "x", x)
    x64 = x.astype(np.float64)
    s = sigmoid.forward(x64)
    with np.errstate(invalid="ignore"):  # -inf * 0, settled by the limit
        y = np.where(s == 0, np.copysign(0.0, x64), x64 * s)
    return y.astype(x.dtype)


def backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """Vector-Jacobian product of silu: grad_output * sigmoid(x) * (1 + x * (1 - sigmoid(x))).

    Spec: docs/spec/activations.md#silu

    Math:
        s = sigmoid(x)
        ds = sigmoid'(x)                 (= s * (1 - s), computed without the cancellation in 1 - s as s -> 1)
        dy_dx = s + x * ds               (x * ds = 0 where ds = 0: the limits 0 at x = -inf and 1 at x = inf)
        grad_x = grad_output * dy_dx

    Args:
        x: the forward input.
        grad_output: gradient of the loss with respect to the output, same shape as ``x``.

    Returns:
        Gradient of the loss with respect to ``x``, in the wider of the two dtypes.

    Raises:
        TypeError: if an argument is not a real floating-point array.
        ValueError: if the shapes differ.

    Example:
        >>> backward(np.array([-np.inf, 0.0, np.inf]), np.array([4.0, 4.0, 4.0]))
        array([0., 2., 4.])
    """
    x = check.float_array("silu.backward", "x", x)
    grad_output = check.float_array("silu.backward", "grad_output", grad_output)
    check.same_shape("silu.backward", "grad_output", grad_output, "x", x)
    x64 = x.astype(np.float64)
    s = sigmoid.forward(x64)
    ds = sigmoid.backward(x64, np.ones_like(x64))
    with np.errstate(invalid="ignore"):  # inf * 0, settled by the limits
        dy_dx = s + np.where(ds == 0, 0.0, x64 * ds)
    return (grad_output * dy_dx).astype(check.result_dtype(x, grad_output))
