"""The tracked bound of one SGD step (reference/optimizers/sgd.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, decayed
from nnspec.conformance.strategies.hyperparameters import LEARNING_RATES, WEIGHT_DECAYS


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """Weight decay, the momentum buffer in the declared convention (PyTorch's raw first step, Keras's
    lr-scaled buffer), heavy ball or Nesterov, then the update."""
    lr, mu, tau = h["lr"], h["momentum"], h["dampening"]
    p, g = decayed(p, g, lr, h)
    buf = s["momentum_buffer"]
    if mu == 0:
        return p - lr * g, {}
    if h["momentum_buffer"] == "lr_scaled":
        buf = mu * buf - lr * (1 - tau) * g
        return p + (mu * buf - lr * g if h["nesterov"] else buf), {"momentum_buffer": buf}
    first = h["momentum_buffer"] == "raw_gradient_first_step_undampened" and s["step"] == 0
    buf = g if first else mu * buf + (1 - tau) * g
    return p - lr * (g + mu * buf if h["nesterov"] else buf), {"momentum_buffer": buf}


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    momentum = draw(st.sampled_from([0.9, 0.0, 0.5]))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.3, 0.0]))
    return {"lr": draw(LEARNING_RATES), "momentum": momentum, "dampening": dampening,
            "weight_decay": draw(WEIGHT_DECAYS), "nesterov": nesterov}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1, "nesterov": False},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.1, "nesterov": True},
    {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.1, "nesterov": False},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.1, "nesterov": False},
)
