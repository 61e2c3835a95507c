"""Adagrad: per-coordinate step sizes from the running sum of squared gradients (Duchi et al. 2011)."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

EPS_PLACEMENTS = ("outside_sqrt", "inside_sqrt")

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"eps_placement": EPS_PLACEMENTS, "weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; sum: the accumulator s (PyTorch ``sum``; Keras ``_accumulators``; optax
    ``sum_of_squares``)."""

    step: int
    sum: np.ndarray


def _checked(function, lr, lr_decay, weight_decay, initial_accumulator_value, eps, eps_placement,
             weight_decay_mode):
    for name, value in (("lr", lr), ("lr_decay", lr_decay), ("weight_decay", weight_decay),
                        ("initial_accumulator_value", initial_accumulator_value), ("eps", eps)):
        _state.nonnegative(function, name, value)
    check.choice(function, "eps_placement", eps_placement, EPS_PLACEMENTS)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)


def init(param: np.ndarray, *, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
         initial_accumulator_value: float = 0.0, eps: float = 1e-10, eps_placement: str = "outside_sqrt",
         weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: sum filled with initial_accumulator_value (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#adagrad

    Example:
        >>> init(np.zeros(2), initial_accumulator_value=0.1)
        State(step=0, sum=array([0.1, 0.1]))
    """
    param = check.float_array("adagrad.init", "param", param)
    _checked("adagrad.init", lr, lr_decay, weight_decay, initial_accumulator_value, eps, eps_placement,
             weight_decay_mode)
    return State(step=0, sum=np.full_like(param, initial_accumulator_value))


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-2, lr_decay: float = 0.0,
         weight_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10,
         eps_placement: str = "outside_sqrt", weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One Adagrad step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#adagrad

    Math:
        t = state.step + 1
        clr = lr / (1 + (t - 1) * lr_decay)
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - clr * weight_decay * param     ("decoupled", only when weight_decay != 0)
        total = sum + grad**2                              (the new state.sum)
        param = param - clr * grad / (sqrt(total) + eps)   ("outside_sqrt", PyTorch)
        param = param - clr * grad / sqrt(total + eps)     ("inside_sqrt", Keras and optax)

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``.
        lr, lr_decay, weight_decay, eps: >= 0. initial_accumulator_value is used by ``init`` only.
        eps_placement, weight_decay_mode: the named conventions above.

    Raises:
        TypeError: for a non-float array or a foreign state.
        ValueError: for an out-of-range hyperparameter or an unknown convention.

    Example:
        >>> step(np.array([1.0]), np.array([3.0]), init(np.array([1.0])), lr=0.5, eps=0.0)[0]
        array([0.5])
    """
    function = "adagrad.step"
    param, grad = _state.param_and_grad(function, param, grad)
    _checked(function, lr, lr_decay, weight_decay, initial_accumulator_value, eps, eps_placement,
             weight_decay_mode)
    state = _state.state(function, state, State, param)
    t = state.step + 1
    clr = lr / (1 + (t - 1) * lr_decay)
    param, grad = _state.weight_decay(param, grad, clr, weight_decay, weight_decay_mode)
    total = state.sum + grad**2
    if eps_placement == "outside_sqrt":
        param = param - clr * grad / (np.sqrt(total) + eps)
    else:
        param = param - clr * grad / np.sqrt(total + eps)
    dtype = param.dtype
    return _state.as_dtype(param, dtype), State(step=t, sum=_state.as_dtype(total, dtype))
