"""The tracked bound of one Adadelta step (reference/optimizers/adadelta.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, decayed
from nnspec.conformance.strategies.hyperparameters import WEIGHT_DECAYS


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """The square average, the delta sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g, its average, the update."""
    rho, eps = h["rho"], h["eps"]
    p, g = decayed(p, g, h["lr"], h)
    square_avg = rho * s["square_avg"] + (1 - rho) * (g * g)
    delta = (s["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt() * g
    acc_delta = rho * s["acc_delta"] + (1 - rho) * (delta * delta)
    return p - h["lr"] * delta, {"square_avg": square_avg, "acc_delta": acc_delta}


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    return {"lr": draw(st.sampled_from([0.5, 1.0, 0.1])), "rho": draw(st.sampled_from([0.9, 0.5])),
            "eps": draw(st.sampled_from([1e-6, 1e-3])), "weight_decay": draw(WEIGHT_DECAYS)}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.5, "rho": 0.9, "eps": 1e-3, "weight_decay": 0.1},
)
