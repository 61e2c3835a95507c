"""The tracked bound of one Adagrad step (reference/optimizers/adagrad.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, decayed
from nnspec.conformance.strategies.hyperparameters import LEARNING_RATES, WEIGHT_DECAYS


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """The decayed learning rate, weight decay, the sum of squares, eps outside or inside the root, the update."""
    clr = h["lr"] / (1 + s["step"] * h["lr_decay"])
    p, g = decayed(p, g, clr, h)
    total = s["sum"] + g * g
    denom = total.sqrt() + h["eps"] if h["eps_placement"] == "outside_sqrt" else (total + h["eps"]).sqrt()
    return p - clr * g / denom, {"sum": total}


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    return {"lr": draw(LEARNING_RATES), "lr_decay": draw(st.sampled_from([0.1, 0.0])),
            "weight_decay": draw(WEIGHT_DECAYS), "initial_accumulator_value": draw(st.sampled_from([0.0, 0.1])),
            "eps": draw(st.sampled_from([1e-10, 1e-3]))}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-3},
    {"lr": 0.1, "lr_decay": 0.0, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-3},
)
