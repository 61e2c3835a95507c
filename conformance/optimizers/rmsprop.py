"""The tracked bound of one RMSprop step (reference/optimizers/rmsprop.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, decayed
from nnspec.conformance.strategies.hyperparameters import EPSILONS, LEARNING_RATES, WEIGHT_DECAYS


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """The square average (centered: minus the squared gradient average), eps outside or inside the root, and
    the momentum buffer unscaled (PyTorch) or scaled by lr (Keras)."""
    lr, alpha, mu = h["lr"], h["alpha"], h["momentum"]
    p, g = decayed(p, g, lr, h)
    square_avg = alpha * s["square_avg"] + (1 - alpha) * (g * g)
    new = {"square_avg": square_avg}
    variance = square_avg
    if h["centered"]:
        new["grad_avg"] = alpha * s["grad_avg"] + (1 - alpha) * g
        variance = square_avg - new["grad_avg"] * new["grad_avg"]
    denom = variance.sqrt() + h["eps"] if h["eps_placement"] == "outside_sqrt" else (variance + h["eps"]).sqrt()
    if mu == 0:
        return p - lr * g / denom, new
    if h["momentum_buffer"] == "unscaled":
        new["momentum_buffer"] = mu * s["momentum_buffer"] + g / denom
        return p - lr * new["momentum_buffer"], new
    new["momentum_buffer"] = mu * s["momentum_buffer"] + lr * g / denom
    return p - new["momentum_buffer"], new


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    return {"lr": draw(LEARNING_RATES), "alpha": draw(st.sampled_from([0.99, 0.9, 0.5])), "eps": draw(EPSILONS),
            "weight_decay": draw(WEIGHT_DECAYS), "momentum": draw(st.sampled_from([0.9, 0.0])),
            "centered": draw(st.booleans())}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.9, "centered": True},
    {"lr": 0.01, "alpha": 0.99, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.0, "centered": False},
)
