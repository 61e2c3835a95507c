"""Lion: evolved sign momentum (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2)."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; exp_avg: m, the one momentum. Keras: ``_momentums``; optax: ``mu``."""

    step: int
    exp_avg: np.ndarray


def _checked(function, lr, betas, weight_decay, weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    beta1, beta2 = _state.betas(function, betas)
    _state.nonnegative(function, "weight_decay", weight_decay)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)
    return beta1, beta2


def init(param: np.ndarray, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.99),
         weight_decay: float = 0.0, weight_decay_mode: str = "decoupled") -> State:
    """The state before the first step: a zero momentum (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#lion

    Example:
        >>> init(np.zeros(1))
        State(step=0, exp_avg=array([0.]))
    """
    param = check.float_array("lion.init", "param", param)
    _checked("lion.init", lr, betas, weight_decay, weight_decay_mode)
    return State(step=0, exp_avg=np.zeros_like(param))


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3,
         betas: tuple[float, float] = (0.9, 0.99), weight_decay: float = 0.0,
         weight_decay_mode: str = "decoupled") -> tuple[np.ndarray, State]:
    """One Lion step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#lion

    Math:
        t = state.step + 1; (beta1, beta2) = betas
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled": the paper, Keras, optax; when weight_decay != 0)
        c = beta1 * exp_avg + (1 - beta1) * grad
        param = param - lr * sign(c)                   (sign(0) = 0)
        exp_avg = beta2 * exp_avg + (1 - beta2) * grad

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``.
        lr, weight_decay: >= 0. betas: (beta1, beta2), each in [0, 1).
        weight_decay_mode: the named convention above.

    Raises:
        TypeError: for a non-float array or a foreign state.
        ValueError: for an out-of-range hyperparameter or an unknown convention.

    Example:
        >>> step(np.array([1.0, 1.0, 1.0]), np.array([3.0, -1e-9, 0.0]), init(np.zeros(3)), lr=0.5)[0]
        array([0.5, 1.5, 1. ])
    """
    function = "lion.step"
    param, grad = _state.param_and_grad(function, param, grad)
    beta1, beta2 = _checked(function, lr, betas, weight_decay, weight_decay_mode)
    state = _state.state(function, state, State, param)
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    c = beta1 * state.exp_avg + (1 - beta1) * grad
    param = param - lr * np.sign(c)
    exp_avg = beta2 * state.exp_avg + (1 - beta2) * grad
    dtype = param.dtype
    new_state = State(step=state.step + 1, exp_avg=_state.as_dtype(exp_avg, dtype))
    return _state.as_dtype(param, dtype), new_state
