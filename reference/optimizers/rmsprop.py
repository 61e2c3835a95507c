"""RMSprop: divide the gradient by a running root mean square (Tieleman & Hinton 2012), optionally centered."""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.optimizers import _state

EPS_PLACEMENTS = ("outside_sqrt", "inside_sqrt")
MOMENTUM_BUFFERS = ("unscaled", "lr_scaled")

#: The convention keywords of this optimizer and their named values (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"eps_placement": EPS_PLACEMENTS, "momentum_buffer": MOMENTUM_BUFFERS,
                                "weight_decay_mode": _state.WEIGHT_DECAY_MODES})


class State(NamedTuple):
    """step: steps taken; square_avg: v; momentum_buffer: b (None when momentum == 0); grad_avg: the mean
    gradient (None unless centered). Keras: ``_velocities``, ``_momentums``, ``_average_gradients``; optax:
    ``nu`` (ScaleByRmsState) or ``nu``/``mu`` (ScaleByRStdDevState) and the ``trace`` of the momentum."""

    step: int
    square_avg: np.ndarray
    momentum_buffer: np.ndarray | None
    grad_avg: np.ndarray | None


def _checked(function, lr, alpha, eps, weight_decay, momentum, centered, eps_placement, momentum_buffer,
             weight_decay_mode):
    _state.nonnegative(function, "lr", lr)
    _state.fraction(function, "alpha", alpha)
    _state.nonnegative(function, "eps", eps)
    _state.nonnegative(function, "weight_decay", weight_decay)
    _state.fraction(function, "momentum", momentum)
    _state.flag(function, "centered", centered)
    check.choice(function, "eps_placement", eps_placement, EPS_PLACEMENTS)
    check.choice(function, "momentum_buffer", momentum_buffer, MOMENTUM_BUFFERS)
    check.choice(function, "weight_decay_mode", weight_decay_mode, _state.WEIGHT_DECAY_MODES)


def init(param: np.ndarray, *, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
         momentum: float = 0.0, centered: bool = False, eps_placement: str = "outside_sqrt",
         momentum_buffer: str = "unscaled", weight_decay_mode: str = "coupled") -> State:
    """The state before the first step: zeros (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#rmsprop

    Example:
        >>> init(np.zeros(1), centered=True)
        State(step=0, square_avg=array([0.]), momentum_buffer=None, grad_avg=array([0.]))
    """
    param = check.float_array("rmsprop.init", "param", param)
    _checked("rmsprop.init", lr, alpha, eps, weight_decay, momentum, centered, eps_placement, momentum_buffer,
             weight_decay_mode)
    return State(step=0, square_avg=np.zeros_like(param),
                 momentum_buffer=np.zeros_like(param) if momentum != 0 else None,
                 grad_avg=np.zeros_like(param) if centered else None)


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-2, alpha: float = 0.99,
         eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
         eps_placement: str = "outside_sqrt", momentum_buffer: str = "unscaled",
         weight_decay_mode: str = "coupled") -> tuple[np.ndarray, State]:
    """One RMSprop step. Pure: returns the new parameter and state, in the parameter's dtype.

    Spec: docs/spec/optimizers.md#rmsprop

    Math:
        grad = grad + weight_decay * param             ("coupled", only when weight_decay != 0)
        param = param - lr * weight_decay * param      ("decoupled", only when weight_decay != 0)
        square_avg = alpha * square_avg + (1 - alpha) * grad**2
        grad_avg = alpha * grad_avg + (1 - alpha) * grad                   (centered)
        variance = square_avg - grad_avg**2 if centered else square_avg
        denom = sqrt(variance) + eps           ("outside_sqrt", PyTorch)
        denom = sqrt(variance + eps)           ("inside_sqrt", Keras and optax)
        param = param - lr * grad / denom                                  (momentum == 0)
        buf = momentum * buf + grad / denom; param = param - lr * buf      ("unscaled", PyTorch)
        buf = momentum * buf + lr * grad / denom; param = param - buf      ("lr_scaled", Keras and optax)

    Args:
        param, grad: arrays of one shape; grad is converted to param's dtype.
        state: from ``init`` or a previous ``step``, made with the same momentum and centered.
        lr, eps, weight_decay: >= 0; alpha, momentum in [0, 1]. centered: subtract the squared mean gradient.
        eps_placement, momentum_buffer, weight_decay_mode: the named conventions above.

    Raises:
        TypeError: for a non-float array, a non-bool flag or a foreign state.
        ValueError: for an out-of-range hyperparameter, an unknown convention or a mismatched state.

    Example:
        >>> step(np.array([1.0]), np.array([-2.0]), init(np.array([1.0])), lr=0.5, alpha=0.75, eps=0.0)[0]
        array([2.])
    """
    function = "rmsprop.step"
    param, grad = _state.param_and_grad(function, param, grad)
    _checked(function, lr, alpha, eps, weight_decay, momentum, centered, eps_placement, momentum_buffer,
             weight_decay_mode)
    state = _state.state(function, state, State, param)
    _state.require(function, state, "momentum_buffer", momentum != 0, f"momentum={momentum}")
    _state.require(function, state, "grad_avg", centered, f"centered={centered}")
    param, grad = _state.weight_decay(param, grad, lr, weight_decay, weight_decay_mode)
    square_avg = alpha * state.square_avg + (1 - alpha) * grad**2
    grad_avg = alpha * state.grad_avg + (1 - alpha) * grad if centered else None
    variance = square_avg - grad_avg**2 if centered else square_avg
    denom = np.sqrt(variance) + eps if eps_placement == "outside_sqrt" else np.sqrt(variance + eps)
    buf = state.momentum_buffer
    if momentum == 0:
        param = param - lr * grad / denom
    elif momentum_buffer == "unscaled":
        buf = momentum * buf + grad / denom
        param = param - lr * buf
    else:
        buf = momentum * buf + lr * grad / denom
        param = param - buf
    dtype = param.dtype
    new_state = State(step=state.step + 1, square_avg=_state.as_dtype(square_avg, dtype),
                      momentum_buffer=None if buf is None else _state.as_dtype(buf, dtype),
                      grad_avg=None if grad_avg is None else _state.as_dtype(grad_avg, dtype))
    return _state.as_dtype(param, dtype), new_state
