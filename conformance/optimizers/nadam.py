"""The tracked bound of one NAdam step (reference/optimizers/nadam.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, coefficient, decayed, moment
from nnspec.conformance.strategies.hyperparameters import BETAS, EPSILONS, LEARNING_RATES, WEIGHT_DECAYS


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """Weight decay, the momentum schedule (Dozat's, or a constant beta1) and its running product in the scalar
    format, the two moments, the corrected root plus eps, and the two-term update with its coefficients
    converted to the parameter's format."""
    (beta1, beta2), t, lr = h["betas"], s["step"] + 1, h["lr"]
    p, g = decayed(p, g, lr, h)
    if h["momentum_schedule"] == "dozat":
        b1, decay = coefficient(p, h, "schedule", beta1), coefficient(p, h, "schedule", 0.96)
        mu = b1 * (1 - 0.5 * decay ** (t * h["momentum_decay"]))
        mu_next = b1 * (1 - 0.5 * decay ** ((t + 1) * h["momentum_decay"]))
    else:
        mu = mu_next = beta1
    product = s["mu_product"] * mu  # in the scalar's own format (its u)
    moment1, moment2 = (coefficient(p, h, "moment_weight", b) for b in (beta1, beta2))
    exp_avg = moment(h, moment1, s["exp_avg"], g)
    exp_avg_sq = moment(h, moment2, s["exp_avg_sq"], g * g)
    denom = (exp_avg_sq / (1 - coefficient(p, h, "bias_correction", beta2) ** t)).sqrt() + h["eps"]
    first = (lr * (1 - mu) / (1 - product)).rounded_like(p)  # the coefficient, converted to the param's format
    second = (lr * mu_next / (1 - product * mu_next)).rounded_like(p)
    p = p - first * g / denom
    p = p - second * exp_avg / denom
    return p, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "mu_product": product}


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    return {"lr": draw(LEARNING_RATES), "betas": draw(BETAS), "eps": draw(EPSILONS),
            "weight_decay": draw(WEIGHT_DECAYS), "momentum_decay": draw(st.sampled_from([4e-3, 0.5]))}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3, "weight_decay": 0.1, "momentum_decay": 4e-3},
)
