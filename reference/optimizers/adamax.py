"""Adamax: Adam with the infinity norm in place of the second moment (Kingma & Ba 2015, Algorithm 2)."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

EPS_PLACEMENTS = ("in_max", "in_denominator")

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"eps_placement": EPS_PLACEMENTS, "weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; exp_avg: m; exp_inf: u, the decayed infinity norm. Keras: ``_m``, ``_u``; optax:
    ``mu``, ``nu``."""

    step: int
    exp_avg: np.ndarray
    exp_inf: np.ndarray


def _checked(function, lr, betas, eps, weight_decay, eps_placement, weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    beta1, beta2 = _state.betas(function, betas)
    _state.nonnegative(function, "eps", eps)
    _state.nonnegative(function, "weight_decay", weight_decay)
    check.choice(function, "eps_placement", eps_placement, EPS_PLACEMENTS)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)
    return beta1, beta2


def init(param: np.ndarray, *, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, eps_placement: str = "in_max", weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: zeros (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#adamax

    Example:
        >>> init(np.zeros(1))
        State(step=0, exp_avg=array([0.]), exp_inf=array([0.]))
    """
    param = check.float_array("adamax.init", "param", param)
    _checked("adamax.init", lr, betas, eps, weight_decay, eps_placement, weight_decay_mode)
    return State(step=0, exp_avg=np.zeros_like(param), exp_inf=np.zeros_like(param))


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 2e-3,
         betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
         eps_placement: str = "in_max", weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One Adamax step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#adamax

    Math:
        t = state.step + 1; (beta1, beta2) = betas
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled", only when weight_decay != 0)
        exp_avg = beta1 * exp_avg + (1 - beta1) * grad
        exp_inf = max(beta2 * exp_inf, |grad| + eps)                          ("in_max": PyTorch, optax)
        param = param - lr / (1 - beta1**t) * exp_avg / exp_inf               ("in_max")
        exp_inf = max(beta2 * exp_inf, |grad|)                                ("in_denominator": Keras)
        param = param - lr / (1 - beta1**t) * exp_avg / (exp_inf + eps)       ("in_denominator")

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``.
        lr, eps, weight_decay: >= 0. betas: (beta1, beta2), each in [0, 1).
        eps_placement, weight_decay_mode: the named conventions above.

    Raises:
        TypeError: for a non-float array or a foreign state.
        ValueError: for an out-of-range hyperparameter or an unknown convention.

    Example:
        >>> step(np.array([1.0]), np.array([4.0]), init(np.array([1.0])), lr=0.5, eps=0.0)[0]
        array([0.5])
    """
    function = "adamax.step"
    param, grad = _state.param_and_grad(function, param, grad)
    beta1, beta2 = _checked(function, lr, betas, eps, weight_decay, eps_placement, weight_decay_mode)
    state = _state.state(function, state, State, param)
    t = state.step + 1
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    exp_avg = beta1 * state.exp_avg + (1 - beta1) * grad
    if eps_placement == "in_max":
        exp_inf = np.maximum(beta2 * state.exp_inf, np.abs(grad) + eps)
        param = param - lr / (1 - beta1**t) * exp_avg / exp_inf
    else:
        exp_inf = np.maximum(beta2 * state.exp_inf, np.abs(grad))
        param = param - lr / (1 - beta1**t) * exp_avg / (exp_inf + eps)
    dtype = param.dtype
    new_state = State(step=t, exp_avg=_state.as_dtype(exp_avg, dtype), exp_inf=_state.as_dtype(exp_inf, dtype))
    return _state.as_dtype(param, dtype), new_state
