"""NAdam: Adam with Nesterov momentum and Dozat's (2016) momentum schedule, in PyTorch's form."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

MOMENTUM_SCHEDULES = ("dozat", "constant")

#: State fields that are Python floats, not arrays of the parameter's shape.
SCALAR_STATE = ("mu_product",)
#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"momentum_schedule": MOMENTUM_SCHEDULES,
                                "weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; exp_avg: m; exp_avg_sq: v; mu_product: the product of the momentum factors
    mu_1 ... mu_t, a Python float (1.0 before the first step). Keras: ``_momentums``, ``_velocities`` and
    ``_u_product``; optax (``nesterov=True`` Adam): ``mu``, ``nu``, no product."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    mu_product: float


def _checked(function, lr, betas, eps, weight_decay, momentum_decay, momentum_schedule, weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    beta1, beta2 = _state.betas(function, betas)
    _state.nonnegative(function, "eps", eps)
    _state.nonnegative(function, "weight_decay", weight_decay)
    _state.nonnegative(function, "momentum_decay", momentum_decay)
    check.choice(function, "momentum_schedule", momentum_schedule, MOMENTUM_SCHEDULES)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)
    return beta1, beta2


def init(param: np.ndarray, *, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, momentum_decay: float = 4e-3, momentum_schedule: str = "dozat",
         weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: zero moments and mu_product = 1 (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#nadam

    Example:
        >>> init(np.zeros(1))
        State(step=0, exp_avg=array([0.]), exp_avg_sq=array([0.]), mu_product=1.0)
    """
    param = check.float_array("nadam.init", "param", param)
    _checked("nadam.init", lr, betas, eps, weight_decay, momentum_decay, momentum_schedule, weight_decay_mode)
    return State(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param), mu_product=1.0)


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 2e-3,
         betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
         momentum_decay: float = 4e-3, momentum_schedule: str = "dozat",
         weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One NAdam step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#nadam

    Math:
        t = state.step + 1; (beta1, beta2) = betas
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled", only when weight_decay != 0)
        mu = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))              ("dozat": PyTorch; Keras has
        mu_next = beta1 * (1 - 0.5 * 0.96**((t + 1) * momentum_decay))    momentum_decay = 1)
        mu = mu_next = beta1                                             ("constant": optax)
        mu_product = mu_product * mu
        exp_avg = beta1 * exp_avg + (1 - beta1) * grad
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
        denom = sqrt(exp_avg_sq / (1 - beta2**t)) + eps
        param = param - lr * (1 - mu) / (1 - mu_product) * grad / denom
        param = param - lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``.
        lr, eps, weight_decay, momentum_decay: >= 0. betas: (beta1, beta2), each in [0, 1).
        momentum_schedule, weight_decay_mode: the named conventions above.

    Raises:
        TypeError: for a non-float array or a foreign state.
        ValueError: for an out-of-range hyperparameter or an unknown convention.

    Example:
        >>> step(np.array([1.0]), np.array([2.0]), init(np.array([1.0])), lr=0.5, betas=(0.0, 0.0), eps=0.0)[0]
        array([0.5])
    """
    function = "nadam.step"
    param, grad = _state.param_and_grad(function, param, grad)
    beta1, beta2 = _checked(function, lr, betas, eps, weight_decay, momentum_decay, momentum_schedule,
                            weight_decay_mode)
    state = _state.state(function, state, State, param, scalars=SCALAR_STATE)
    t = state.step + 1
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    if momentum_schedule == "dozat":
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    else:
        mu = mu_next = beta1
    mu_product = state.mu_product * mu
    exp_avg = beta1 * state.exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * grad**2
    denom = np.sqrt(exp_avg_sq / (1 - beta2**t)) + eps
    param = param - lr * (1 - mu) / (1 - mu_product) * grad / denom
    param = param - lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
    dtype = param.dtype
    new_state = State(step=t, exp_avg=_state.as_dtype(exp_avg, dtype),
                      exp_avg_sq=_state.as_dtype(exp_avg_sq, dtype), mu_product=mu_product)
    return _state.as_dtype(param, dtype), new_state
