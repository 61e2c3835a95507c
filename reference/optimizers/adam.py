"""Adam (Kingma & Ba 2015, Algorithm 1) and its AMSGrad variant (Reddi et al. 2018)."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

EPS_PLACEMENTS = ("outside_sqrt", "inside_sqrt", "eps_hat")
AMSGRAD_MAX_OF = ("raw_v", "v_hat")

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"eps_placement": EPS_PLACEMENTS, "amsgrad_max_of": AMSGRAD_MAX_OF,
                                "weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; exp_avg: m; exp_avg_sq: v; max_exp_avg_sq: AMSGrad's running max (None unless
    amsgrad). Keras: ``_momentums``, ``_velocities``, ``_velocity_hats``; optax: ``mu``, ``nu``, ``nu_max``."""

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray | None


def _checked(function, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of, weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    beta1, beta2 = _state.betas(function, betas)
    _state.nonnegative(function, "eps", eps)
    _state.nonnegative(function, "weight_decay", weight_decay)
    _state.flag(function, "amsgrad", amsgrad)
    check.choice(function, "eps_placement", eps_placement, EPS_PLACEMENTS)
    check.choice(function, "amsgrad_max_of", amsgrad_max_of, AMSGRAD_MAX_OF)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)
    if amsgrad and amsgrad_max_of == "v_hat" and eps_placement == "eps_hat":
        raise ValueError(f"{function}: amsgrad_max_of='v_hat' is defined with eps_placement 'outside_sqrt' or "
                         "'inside_sqrt' only, got 'eps_hat'")
    return beta1, beta2


def _init(function, param, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of,
          weight_decay_mode) -> State:
    param = check.float_array(function, "param", param)
    _checked(function, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of, weight_decay_mode)
    return State(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param),
                 max_exp_avg_sq=np.zeros_like(param) if amsgrad else None)


def _step(function, param, grad, state, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of,
          weight_decay_mode) -> tuple[np.ndarray, State]:
    param, grad = _state.param_and_grad(function, param, grad)
    beta1, beta2 = _checked(function, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of,
                            weight_decay_mode)
    state = _state.state(function, state, State, param)
    _state.require(function, state, "max_exp_avg_sq", amsgrad, f"amsgrad={amsgrad}")
    t = state.step + 1
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    exp_avg = beta1 * state.exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * grad**2
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    max_exp_avg_sq, v = None, exp_avg_sq
    if amsgrad and amsgrad_max_of == "raw_v":
        max_exp_avg_sq = v = np.maximum(state.max_exp_avg_sq, exp_avg_sq)
    if amsgrad and amsgrad_max_of == "v_hat":
        max_exp_avg_sq = np.maximum(state.max_exp_avg_sq, exp_avg_sq / bias_correction2)
        v, bias_correction2 = max_exp_avg_sq, 1.0
    if eps_placement == "outside_sqrt":
        param = param - lr / bias_correction1 * exp_avg / (np.sqrt(v) / math.sqrt(bias_correction2) + eps)
    elif eps_placement == "inside_sqrt":
        param = param - lr / bias_correction1 * exp_avg / np.sqrt(v / bias_correction2 + eps)
    else:
        param = param - lr * math.sqrt(bias_correction2) / bias_correction1 * exp_avg / (np.sqrt(v) + eps)
    dtype = param.dtype
    new_state = State(step=t, exp_avg=_state.as_dtype(exp_avg, dtype), exp_avg_sq=_state.as_dtype(exp_avg_sq, dtype),
                      max_exp_avg_sq=None if max_exp_avg_sq is None else _state.as_dtype(max_exp_avg_sq, dtype))
    return _state.as_dtype(param, dtype), new_state


def init(param: np.ndarray, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, eps_placement: str = "outside_sqrt",
         amsgrad_max_of: str = "raw_v", weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: zeros (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#adam

    Example:
        >>> init(np.zeros(1))
        State(step=0, exp_avg=array([0.]), exp_avg_sq=array([0.]), max_exp_avg_sq=None)
    """
    return _init("adam.init", param, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of,
                 weight_decay_mode)


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3,
         betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
         amsgrad: bool = False, eps_placement: str = "outside_sqrt", amsgrad_max_of: str = "raw_v",
         weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One Adam step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#adam (AMSGrad: #amsgrad)

    Math:
        t = state.step + 1; (beta1, beta2) = betas
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled", only when weight_decay != 0)
        exp_avg = beta1 * exp_avg + (1 - beta1) * grad
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
        bias_correction1 = 1 - beta1**t; bias_correction2 = 1 - beta2**t
        v = exp_avg_sq                                                  (no amsgrad)
        v = max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)           (amsgrad, "raw_v": PyTorch, Keras)
        v = max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq / bias_correction2); bias_correction2 = 1
                                                                        (amsgrad, "v_hat": optax)
        param = param - lr / bias_correction1 * exp_avg / (sqrt(v) / sqrt(bias_correction2) + eps)
                                                                        ("outside_sqrt": PyTorch, optax)
        param = param - lr / bias_correction1 * exp_avg / sqrt(v / bias_correction2 + eps)   ("inside_sqrt")
        param = param - lr * sqrt(bias_correction2) / bias_correction1 * exp_avg / (sqrt(v) + eps)
                                                                        ("eps_hat": Keras, the paper's eps-hat)

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``, made with the same amsgrad.
        lr, eps, weight_decay: >= 0. betas: (beta1, beta2), each in [0, 1). amsgrad: use the running max.
        eps_placement, amsgrad_max_of, weight_decay_mode: the named conventions above ("v_hat" excludes
            "eps_hat").

    Raises:
        TypeError: for a non-float array, a non-bool flag or a foreign state.
        ValueError: for an out-of-range hyperparameter, an unknown convention or a mismatched state.

    Example:
        >>> step(np.array([1.0]), np.array([-3.0]), init(np.array([1.0])), lr=0.5, eps=0.0)[0]
        array([1.5])
    """
    return _step("adam.step", param, grad, state, lr, betas, eps, weight_decay, amsgrad, eps_placement,
                 amsgrad_max_of, weight_decay_mode)
