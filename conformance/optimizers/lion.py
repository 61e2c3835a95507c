"""The tracked bound of one Lion step (reference/optimizers/lion.py), in the declared conventions.

The update is lr * sign(c): exact in its magnitude, so the error lies in the parameter's decay and subtraction,
in the momentum, and in the sign itself where c is within its own error of 0. There the computed sign may be
either one (or 0), so the step is undetermined by up to |(+1) - (-1)| = 2: the budget allows 2 * lr, which is
honest (no backend is failed for rounding c to the other side of 0) and applies only where |c| is that small.

Spec: docs/spec/error-budgets.md#lion
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.errormodel import OPTIMIZER_ORDER_SLACK, Tracked, coefficient, decayed, moment
from nnspec.conformance.strategies.hyperparameters import LEARNING_RATES, WEIGHT_DECAYS


def _sign(c: Tracked) -> Tracked:
    """sign(c), exact where c is farther from 0 than any evaluation order's error of it (OPTIMIZER_ORDER_SLACK
    times the bound: the slack the budget grants other orders), else undetermined by 2."""
    undetermined = np.abs(c.value) <= OPTIMIZER_ORDER_SLACK * c.error
    return Tracked(np.sign(c.value), np.where(undetermined, 2.0, 0.0), c.u, c.tiny)


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """Weight decay, the interpolation c, its sign (undetermined near 0), the update, the momentum."""
    (beta1, beta2), lr = h["betas"], h["lr"]
    p, g = decayed(p, g, lr, h)
    c = moment(h, coefficient(p, h, "moment_weight", beta1), s["exp_avg"], g)
    exp_avg = moment(h, coefficient(p, h, "moment_weight", beta2), s["exp_avg"], g)
    return p - lr * _sign(c), {"exp_avg": exp_avg}


@functools.cache
@st.composite
def hyperparameters(draw) -> dict:
    """Reference-named hyperparameters, all of them (nothing depends on a default). beta1 > 0: Keras refuses
    beta_1 = 0 (signSGD); beta2 = 0 makes the momentum the last gradient."""
    betas = (draw(st.sampled_from([0.9, 0.5, 0.95])), draw(st.sampled_from([0.99, 0.9, 0.0])))
    return {"lr": draw(LEARNING_RATES), "betas": betas, "weight_decay": draw(WEIGHT_DECAYS)}


#: Fixed hyperparameters under which the conventions give different trajectories: the probes of
#: ``nnspec identify`` and a deterministic conformance test (strategies.optimizers.discriminating_cases).
#: With weight decay 0.1 the coupled decay moves the momentum and the decoupled one the parameter.
PROBES: tuple[dict, ...] = (
    {"lr": 0.1, "betas": (0.9, 0.99), "weight_decay": 0.1},
)
