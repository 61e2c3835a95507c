"""The tracked bound of one Adam step (reference/optimizers/adam.py), in the declared conventions.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked, coefficient, decayed, moment
from nnspec.conformance.strategies.hyperparameters import BETAS, EPSILONS, LEARNING_RATES, WEIGHT_DECAYS


def _sqrt(x):
    """The square root of a coefficient: tracked where it was computed in the dtype, else a Python number."""
    return x.sqrt() if isinstance(x, Tracked) else float(np.sqrt(x))


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """Weight decay, the two moments, the bias corrections, AMSGrad's maximum (of the raw or the corrected
    second moment), and eps outside the root, inside it, or added to the uncorrected root (``eps_placement``)."""
    (beta1, beta2), t, lr, eps = h["betas"], s["step"] + 1, h["lr"], h["eps"]
    p, g = decayed(p, g, lr, h)
    moment1, moment2 = (coefficient(p, h, "moment_weight", b) for b in (beta1, beta2))
    new = {"exp_avg": moment(h, moment1, s["exp_avg"], g), "exp_avg_sq": moment(h, moment2, s["exp_avg_sq"], g * g)}
    correction1, correction2 = (1 - coefficient(p, h, "bias_correction", b) ** t for b in (beta1, beta2))
    v = new["exp_avg_sq"]
    if h["amsgrad"] and h["amsgrad_max_of"] == "raw_v":
        v = new["max_exp_avg_sq"] = s["max_exp_avg_sq"].maximum(v)
    elif h["amsgrad"]:
        v = new["max_exp_avg_sq"] = s["max_exp_avg_sq"].maximum(v / correction2)
        correction2 = 1.0
    if h["eps_placement"] == "outside_sqrt":
        denom = v.sqrt() / _sqrt(correction2) + eps
    elif h["eps_placement"] == "inside_sqrt":
        denom = (v / correction2 + eps).sqrt()
    else:
        return p - lr * _sqrt(correction2) / correction1 * new["exp_avg"] / (v.sqrt() + eps), new
    return p - lr / correction1 * new["exp_avg"] / denom, new


@functools.cache
@st.composite
def hyperparameters(draw, weight_decay=WEIGHT_DECAYS) -> dict:
    """PyTorch-named hyperparameters, all of them (nothing depends on a default), each from a few values that
    exercise one term of the update."""
    return {"lr": draw(LEARNING_RATES), "betas": draw(BETAS), "eps": draw(EPSILONS),
            "weight_decay": draw(weight_decay), "amsgrad": draw(st.booleans())}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
PROBES: tuple[dict, ...] = (
    {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3, "weight_decay": 0.0, "amsgrad": True},
    {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.1, "amsgrad": False},
)
