"""The tracked bound of one Adamax step (reference/optimizers/adamax.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, coefficient, decayed, moment
from nnspec.conformance.strategies.hyperparameters import BETAS, EPSILONS, LEARNING_RATES, WEIGHT_DECAYS


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """Weight decay, the first moment, the infinity norm (eps inside the max or added after it), the bias
    correction of the first moment, the update."""
    (beta1, beta2), t, eps = h["betas"], s["step"] + 1, h["eps"]
    p, g = decayed(p, g, h["lr"], h)
    exp_avg = moment(h, coefficient(p, h, "moment_weight", beta1), s["exp_avg"], g)
    if h["eps_placement"] == "in_max":
        exp_inf = (beta2 * s["exp_inf"]).maximum(g.abs() + eps)
        denom = exp_inf
    else:
        exp_inf = (beta2 * s["exp_inf"]).maximum(g.abs())
        denom = exp_inf + eps
    correction1 = 1 - coefficient(p, h, "bias_correction", beta1) ** t
    return p - h["lr"] / correction1 * exp_avg / denom, {"exp_avg": exp_avg, "exp_inf": exp_inf}


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    return {"lr": draw(LEARNING_RATES), "betas": draw(BETAS), "eps": draw(EPSILONS),
            "weight_decay": draw(WEIGHT_DECAYS)}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3, "weight_decay": 0.1},
)
