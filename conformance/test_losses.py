"""Losses: forward and backward agree with the reference for every reduction, and the edge values hold.

Spec: docs/spec/losses.md
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import budgets
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.conformance.strategies.losses import (
    classification_batches,
    label_smoothings,
    logit_pairs,
    probability_pairs,
    reductions,
    regression_pairs,
    residual_pairs,
)
from nnspec.reference import catalogue
from nnspec.reference.losses import _reduction

INPUTS = {
    "mean_squared_error": regression_pairs,
    "binary_cross_entropy": probability_pairs,
    "binary_cross_entropy_with_logits": logit_pairs,
    "softmax_cross_entropy": lambda fmt: classification_batches(fmt, targets="labels"),
    "softmax_cross_entropy_probs": lambda fmt: classification_batches(fmt, targets="probabilities"),
    "huber": residual_pairs,
    "smooth_l1": residual_pairs,
}
CROSS_ENTROPY = ("softmax_cross_entropy", "softmax_cross_entropy_probs")


def _loss_shape(primitive: str, arrays: dict, reduction: str, checker=None) -> tuple[int, ...]:
    """The shape of grad_output: () for "mean" and "sum"; the losses' shape for "none", without the last axis
    where the backend declares ``last_axis`` (Keras: docs/spec/losses.md#last-axis)."""
    if reduction != "none":
        return ()
    first = next(iter(arrays.values()))
    if primitive in CROSS_ENTROPY:
        return first.shape[:1]
    last_axis = {} if checker is None else checker.backend.capabilities().conventions.get(primitive, {})
    return _reduction.loss_shape(first.shape, last_axis.get("last_axis"))


def _params(primitive: str, reduction: str, smoothing: float) -> dict[str, object]:
    params: dict[str, object] = {"reduction": reduction}
    if primitive in CROSS_ENTROPY:
        params["label_smoothing"] = smoothing
    return params


def _hyperparameters(data, primitive: str) -> dict[str, object]:
    """The loss's own hyperparameters (Huber's delta), drawn by its room where it has ``hyperparameters``."""
    room = budgets.room(primitive)
    if not hasattr(room, "hyperparameters"):
        return {}
    return data.draw(room.hyperparameters(**catalogue.get(primitive).params), label="hyperparameters")


@pytest.mark.parametrize("primitive", list(INPUTS))
@given(data=st.data(), reduction=reductions, smoothing=label_smoothings)
def test_loss_forward_matches_reference(checker, primitive, data, reduction, smoothing):
    checker.require(primitive, "forward")
    hyper = _hyperparameters(data, primitive)
    arrays = data.draw(INPUTS[primitive](checker.fmt, **hyper), label="arrays")
    checker.forward(primitive, arrays, {**_params(primitive, reduction, smoothing), **hyper})


@pytest.mark.parametrize("primitive", list(INPUTS))
@given(data=st.data(), reduction=reductions, smoothing=label_smoothings)
def test_loss_backward_matches_reference(checker, primitive, data, reduction, smoothing):
    checker.require(primitive, "backward")
    hyper = _hyperparameters(data, primitive)
    arrays = data.draw(INPUTS[primitive](checker.fmt, **hyper), label="arrays")
    shape = _loss_shape(primitive, arrays, reduction, checker)
    g = data.draw(float_arrays(checker.fmt, shape, min_value=-4.0, max_value=4.0), label="grad_output")
    checker.vjp(primitive, arrays, g, {**_params(primitive, reduction, smoothing), **hyper})


def test_binary_cross_entropy_at_probability_edges(checker):
    """p in {0, 1} with hard and soft targets: the spec's values (and the backend's declared log floor)."""
    checker.require("binary_cross_entropy", "p in {0, 1}")
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.5])
    checker.forward("binary_cross_entropy", {"probability": p, "target": y}, {"reduction": "none"})


def test_binary_cross_entropy_with_logits_at_infinite_logits(checker):
    """logits +-inf give 0 where the target agrees and +inf where it does not; never NaN (pytorch#49844)."""
    checker.require("binary_cross_entropy_with_logits", "infinite logits")
    x = np.array([np.inf, -np.inf, np.inf, -np.inf])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    checker.forward("binary_cross_entropy_with_logits", {"logits": x, "target": y}, {"reduction": "none"})
    arrays = {"logits": x[:2], "target": y[:2]}
    checker.vjp("binary_cross_entropy_with_logits", arrays,
                np.ones(_loss_shape("binary_cross_entropy_with_logits", arrays, "none", checker)),
                {"reduction": "none"})


def test_binary_cross_entropy_with_logits_large_negative_logit(checker):
    """x = -100, y = 0: the loss is ~exp(-100), not an overflow (pytorch#2221, a lost minus sign)."""
    checker.require("binary_cross_entropy_with_logits", "large negative logit")
    x = np.array([-100.0, 100.0, -30.0])
    y = np.array([0.0, 1.0, 0.0])
    checker.forward("binary_cross_entropy_with_logits", {"logits": x, "target": y}, {"reduction": "none"})


@pytest.mark.parametrize("primitive", CROSS_ENTROPY)
def test_cross_entropy_equal_huge_logits(checker, primitive):
    """Equal huge logits give log 2 per example (pytorch#11752)."""
    checker.require(primitive, "equal huge logits")
    big = checker.fmt.round(np.array(min(1e8, checker.fmt.max / 4)))
    logits = np.array([[big, big], [-big, -big]])
    target = np.array([0, 1]) if primitive == "softmax_cross_entropy" else np.array([[1.0, 0.0], [0.5, 0.5]])
    checker.forward(primitive, {"logits": logits, "target": target}, {"reduction": "none"})
    checker.vjp(primitive, {"logits": logits, "target": target}, np.ones(2), {"reduction": "none"})
