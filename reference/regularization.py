"""L2 regularization as a penalty added to the loss: (weight_decay / 2) * sum of squared parameters.

Its gradient, weight_decay * param, is exactly what an optimizer's *coupled* weight decay adds to the gradient
(docs/spec/optimizers.md#weight-decay); *decoupled* weight decay shrinks the parameter instead, which is the
same for plain SGD and different for momentum and adaptive optimizers (docs/spec/regularization.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["backward", "forward"]


def _checked(function: str, params: Sequence[np.ndarray], weight_decay: float) -> tuple[list[np.ndarray], float]:
    if isinstance(params, np.ndarray) or not isinstance(params, Sequence):
        raise TypeError(f"{function}: params must be a sequence of arrays, got {type(params).__name__}")
    arrays = [check.float_array(function, f"params[{i}]", value) for i, value in enumerate(params)]
    return arrays, check.real_number(function, "weight_decay", weight_decay, low=0.0)


def forward(params: Sequence[np.ndarray], weight_decay: float) -> float:
    """The L2 penalty of a list of parameter arrays.

    Spec: docs/spec/regularization.md#l2-penalty

    Math:
        penalty = weight_decay / 2 * sum_k sum(params[k] ** 2)

    Args:
        params: the arrays penalised (usually the weights; whether biases are included is the caller's choice).
        weight_decay: lambda >= 0.

    Returns:
        The penalty as a float, to be added to the data loss.

    Raises:
        TypeError: if params is not a sequence of real floating-point arrays. ValueError: for lambda < 0.

    Example:
        >>> forward([np.array([1.0, 2.0]), np.array([[3.0]])], 0.1)  # 0.05 * (1 + 4 + 9)
        0.7000000000000001
    """
    arrays, weight_decay = _checked("regularization.forward", params, weight_decay)
    return float(weight_decay / 2 * sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


def backward(params: Sequence[np.ndarray], weight_decay: float) -> list[np.ndarray]:
    """The gradient of the penalty for each parameter array: what coupled weight decay adds to the gradient.

    Spec: docs/spec/regularization.md#l2-penalty

    Math:
        grad_k = weight_decay * params[k]

    Example:
        >>> backward([np.array([1.0, -2.0])], 0.5)
        [array([ 0.5, -1. ])]
    """
    arrays, weight_decay = _checked("regularization.backward", params, weight_decay)
    return [weight_decay * a for a in arrays]
