"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), as PyTorch, Keras and optax define it.

This module is Adam with ``weight_decay_mode="decoupled"`` and AdamW's own default weight decay (PyTorch's
1e-2); it shares Adam's code and State (see ``adam.py``).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from nnspec.reference.optimizers import adam

State = adam.State
#: Adam's conventions less weight_decay_mode, which is always "decoupled" (docs/spec/optimizers.md#conventions).
CONVENTIONS = MappingProxyType({"eps_placement": adam.EPS_PLACEMENTS, "amsgrad_max_of": adam.AMSGRAD_MAX_OF})


def init(param: np.ndarray, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 1e-2, amsgrad: bool = False, eps_placement: str = "outside_sqrt",
         amsgrad_max_of: str = "raw_v") -> State:
    """The state before the first step: Adam's (same keywords as ``step``).

    Spec: docs/spec/optimizers.md#adamw

    Example:
        >>> init(np.zeros(1)).step
        0
    """
    return adam._init("adamw.init", param, lr, betas, eps, weight_decay, amsgrad, eps_placement, amsgrad_max_of,
                      "decoupled")


def step(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3,
         betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
         amsgrad: bool = False, eps_placement: str = "outside_sqrt",
         amsgrad_max_of: str = "raw_v") -> tuple[np.ndarray, State]:
    """One AdamW step: decay the parameter, then take Adam's step with the undecayed gradient.

    Spec: docs/spec/optimizers.md#adamw

    Math:
        param = param - lr * weight_decay * param      (only when weight_decay != 0; before the Adam update)
        (param, state) = adam.step(param, grad, state, weight_decay=0, ...)   (see adam.py's Math block)

    Args:
        As ``adam.step``, without ``weight_decay_mode`` (always "decoupled"); weight_decay defaults to 1e-2.

    Raises:
        TypeError, ValueError: as ``adam.step``, naming ``adamw.step``.

    Example:
        >>> step(np.array([2.0]), np.array([0.0]), init(np.array([2.0])), lr=0.5, weight_decay=0.5)[0]
        array([1.5])
    """
    return adam._step("adamw.step", param, grad, state, lr, betas, eps, weight_decay, amsgrad, eps_placement,
                      amsgrad_max_of, "decoupled")
