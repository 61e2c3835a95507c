"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients (Zeiler 2012)."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; square_avg: E[g^2]; acc_delta: E[delta^2]. Keras: ``_accumulated_grads`` and
    ``_accumulated_delta_vars``; optax: ``e_g`` and ``e_x``."""

    step: int
    square_avg: np.ndarray
    acc_delta: np.ndarray


def _checked(function, lr, rho, eps, weight_decay, weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    _state.fraction(function, "rho", rho)
    _state.nonnegative(function, "eps", eps)
    _state.nonnegative(function, "weight_decay", weight_decay)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)


def init(param: np.ndarray, *, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
         weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: zeros (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#adadelta

    Example:
        >>> init(np.zeros(1))
        State(step=0, square_avg=array([0.]), acc_delta=array([0.]))
    """
    param = check.float_array("adadelta.init", "param", param)
    _checked("adadelta.init", lr, rho, eps, weight_decay, weight_decay_mode)
    return State(step=0, square_avg=np.zeros_like(param), acc_delta=np.zeros_like(param))


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1.0, rho: float = 0.9,
         eps: float = 1e-6, weight_decay: float = 0.0,
         weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One Adadelta step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#adadelta

    Math:
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled", only when weight_decay != 0)
        square_avg = rho * square_avg + (1 - rho) * grad**2
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad
        acc_delta = rho * acc_delta + (1 - rho) * delta**2       (delta is taken before lr)
        param = param - lr * delta

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``.
        lr, eps, weight_decay: >= 0; rho in [0, 1].
        weight_decay_mode: the named convention above.

    Raises:
        TypeError: for a non-float array or a foreign state.
        ValueError: for an out-of-range hyperparameter or an unknown convention.

    Example:
        >>> step(np.array([1.0]), np.array([2.0]), init(np.array([1.0])), rho=0.0, eps=1.0)[0]
        array([0.10557281])
    """
    function = "adadelta.step"
    param, grad = _state.param_and_grad(function, param, grad)
    _checked(function, lr, rho, eps, weight_decay, weight_decay_mode)
    state = _state.state(function, state, State, param)
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    square_avg = rho * state.square_avg + (1 - rho) * grad**2
    delta = np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps) * grad
    acc_delta = rho * state.acc_delta + (1 - rho) * delta**2
    param = param - lr * delta
    dtype = param.dtype
    new_state = State(step=state.step + 1, square_avg=_state.as_dtype(square_avg, dtype),
                      acc_delta=_state.as_dtype(acc_delta, dtype))
    return _state.as_dtype(param, dtype), new_state
