"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum (Sutskever et al. 2013)."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

MOMENTUM_BUFFERS = ("raw_gradient_first_step_undampened", "zero_init", "lr_scaled")

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"momentum_buffer": MOMENTUM_BUFFERS, "weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; momentum_buffer: b (PyTorch ``momentum_buffer``; Keras ``momentums`` when
    "lr_scaled"; optax ``trace``), ``None`` when momentum == 0."""

    step: int
    momentum_buffer: np.ndarray | None


def _checked(function, lr, momentum, dampening, weight_decay, nesterov, momentum_buffer, weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    _state.fraction(function, "momentum", momentum)
    _state.fraction(function, "dampening", dampening)
    _state.nonnegative(function, "weight_decay", weight_decay)
    if _state.flag(function, "nesterov", nesterov) and (momentum == 0 or dampening != 0):
        raise ValueError(f"{function}: nesterov requires momentum > 0 and dampening == 0, "
                         f"got momentum={momentum}, dampening={dampening}")
    check.choice(function, "momentum_buffer", momentum_buffer, MOMENTUM_BUFFERS)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)


def init(param: np.ndarray, *, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
         weight_decay: float = 0.0, nesterov: bool = False,
         momentum_buffer: str = "raw_gradient_first_step_undampened", weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: a zero buffer when momentum != 0 (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#sgd

    Example:
        >>> init(np.array([1.0, 2.0]), momentum=0.9)
        State(step=0, momentum_buffer=array([0., 0.]))
    """
    param = check.float_array("sgd.init", "param", param)
    _checked("sgd.init", lr, momentum, dampening, weight_decay, nesterov, momentum_buffer, weight_decay_mode)
    return State(step=0, momentum_buffer=np.zeros_like(param) if momentum != 0 else None)


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3, momentum: float = 0.0,
         dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
         momentum_buffer: str = "raw_gradient_first_step_undampened",
         weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One SGD step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#sgd

    Math:
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled", only when weight_decay != 0)
        momentum == 0:
            param = param - lr * grad
        momentum_buffer "raw_gradient_first_step_undampened" (PyTorch) and "zero_init" (optax):
            buf = grad                                 (raw_gradient_first_step_undampened, first step)
            buf = momentum * buf + (1 - dampening) * grad
            param = param - lr * (grad + momentum * buf if nesterov else buf)
        momentum_buffer "lr_scaled" (Keras; equal to -lr * buf while lr is constant):
            buf = momentum * buf - lr * (1 - dampening) * grad
            param = param + (momentum * buf - lr * grad if nesterov else buf)

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``, made with the same momentum.
        lr, momentum, dampening, weight_decay: >= 0; momentum and dampening in [0, 1].
        nesterov: Nesterov momentum; needs momentum > 0 and dampening == 0.
        momentum_buffer, weight_decay_mode: the named conventions above.

    Raises:
        TypeError: for a non-float array, a non-bool flag or a foreign state.
        ValueError: for an out-of-range hyperparameter, an unknown convention or a mismatched state, including
            a nonzero momentum_buffer at step 0 under "raw_gradient_first_step_undampened" (it would be dropped).

    Example:
        >>> step(np.array([1.0]), np.array([2.0]), init(np.array([1.0])), lr=0.25)[0]
        array([0.5])
    """
    function = "sgd.step"
    param, grad = _state.param_and_grad(function, param, grad)
    _checked(function, lr, momentum, dampening, weight_decay, nesterov, momentum_buffer, weight_decay_mode)
    state = _state.state(function, state, State, param)
    _state.require(function, state, "momentum_buffer", momentum != 0, f"momentum={momentum}")
    first_step = momentum_buffer == "raw_gradient_first_step_undampened" and state.step == 0
    if first_step and momentum != 0 and np.any(state.momentum_buffer != 0):
        raise ValueError(f"{function}: state.momentum_buffer must be the zeros of init at state.step 0 (the first "
                         "step replaces it by the gradient), got nonzero entries; a state after k steps has step k")
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    buf = state.momentum_buffer
    if momentum == 0:
        param = param - lr * grad
    elif momentum_buffer == "lr_scaled":
        buf = momentum * buf - lr * (1 - dampening) * grad
        param = param + (momentum * buf - lr * grad if nesterov else buf)
    else:
        buf = grad.copy() if first_step else momentum * buf + (1 - dampening) * grad
        param = param - lr * (grad + momentum * buf if nesterov else buf)
    dtype = param.dtype
    buf = None if buf is None else _state.as_dtype(buf, dtype)
    return _state.as_dtype(param, dtype), State(step=state.step + 1, momentum_buffer=buf)
