"""Bounds of the Huber loss and smooth-L1 (reference/losses/huber.py), and the strategy of their delta.

Both are C1 in the residual r = p - t: the two branches agree in value and slope at |r| = delta, so a residual
rounded across the kink changes the loss and its slope only by what the rounding of r already moves them
(the slope clip(r, -delta, delta) is 1-Lipschitz in r). The bounds are relative to the loss and to the slope.

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.losses import _reductions
from nnspec.reference import dtypes
from nnspec.reference.losses import huber

#: deltas exact in every dtype the suite draws (bfloat16 included), on both sides of 1; smooth-L1 adds beta = 0
DELTAS = (0.25, 1.0, 1.5, 2.0)

#: u's per element, relative to the loss: r (its error moves the loss by at most |slope| u |r| <= 2u loss), then
#: at most 4u loss in the linear branch, where delta |r| <= 2 loss and delta**2 / 2 <= loss (Keras's
#: delta |r| - delta**2 / 2: 2u + u + u; optax's and PyTorch's forms less); smooth-L1's division is one more.
_FORWARD_OPS = {"huber": 6, "smooth_l1": 7}
#: per gradient element, relative to |slope g|: r (moves the slope by at most u |r| = u |slope| where it is
#: not clipped), 1/n or g/n, the product with g, the product with delta or r, and one spare for a framework's
#: extra multiply (Keras's 2 r * 0.5); smooth-L1's division by delta is one more.
_BACKWARD_OPS = {"huber": 6, "smooth_l1": 7}


@functools.cache
def hyperparameters(variant: str = "huber") -> st.SearchStrategy[dict]:
    """{"delta": one of DELTAS}; smooth-L1 also draws delta = 0 (PyTorch's beta = 0, the L1 loss)."""
    return st.fixed_dictionaries({"delta": st.sampled_from(DELTAS + ((0.0,) if variant == "smooth_l1" else ()))})


def _keywords(params: Mapping[str, object]) -> dict[str, object]:
    return {"delta": params.get("delta", 1.0), "variant": params.get("variant", "huber")}


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """ops u |loss| per element (ops = 6 for Huber, 7 for smooth-L1), then the reduction."""
    u, keywords = fmt.unit_roundoff, _keywords(params)
    values = huber.forward(arrays["prediction"], arrays["target"], reduction="none", **keywords)
    return _reductions.reduce_loss(values, _FORWARD_OPS[keywords["variant"]] * u * values, params, u)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """ops u |slope g / n| per element (ops = 6 for Huber, 7 for smooth-L1). optax's gradient, which cancels
    inside delta, is a finding (docs/findings.md#optax-huber-grad-cancellation), not part of this bound."""
    u, keywords = fmt.unit_roundoff, _keywords(params)
    pred, target = arrays["prediction"], arrays["target"]
    slope = huber.backward(pred, target, 1.0, reduction="sum", **keywords)
    scale = _reductions.grad_scale(grad, params, pred.shape)
    ops = _BACKWARD_OPS[keywords["variant"]] + _reductions.extra_roundings(params)
    return {"prediction": ops * u * np.abs(slope * scale)}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """How an error in the output moves dloss/doutput: the Huber slope clip(r, -delta, delta) is 1-Lipschitz for
    every delta, so |error| (over n for "mean") bounds it, across the kink too. Smooth-L1's slope is
    1/delta-Lipschitz, which this signature (no delta) cannot give: a network bound is the Huber variant's only."""
    scale = 1.0 / output.size if reduction == "mean" else 1.0
    return scale * np.abs(error)
