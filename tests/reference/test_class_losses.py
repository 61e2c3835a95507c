"""Self-tests of the class-indexed losses' options (softmax cross-entropy with class weights, ignore_index,
inputs (N, C, d1, ...), the "mean_divisor" and "smoothing_weight" conventions; NLL) against the 50-digit oracle
(conformance/oracles/class_losses.py), under the room's bounds evaluated for float64 arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import budgets
from nnspec.conformance.oracles import class_losses as oracle
from nnspec.conformance.strategies.class_losses import class_batches
from nnspec.reference import dtypes
from nnspec.reference.losses import nll_loss
from nnspec.reference.losses import softmax_cross_entropy as ce

LOG2 = float(np.log(2.0))
CONVENTIONS = st.fixed_dictionaries({"mean_divisor": st.sampled_from(["weight_sum", "kept_count"]),
                                     "smoothing_weight": st.sampled_from(["per_class", "per_example"])})


@st.composite
def cases(draw, primitive: str):
    """(arrays, params) with any combination of the options, a reduction and, for cross-entropy, a smoothing."""
    flags = draw(st.fixed_dictionaries({"spatial": st.booleans(), "weighted": st.booleans(), "ignored": st.booleans()}))
    arrays, params = draw(class_batches(dtypes.FLOAT64, log_probs=primitive == "nll_loss", **flags))
    params["reduction"] = draw(st.sampled_from(["mean", "sum", "none"]))
    conventions = draw(CONVENTIONS)
    params["mean_divisor"] = conventions["mean_divisor"]
    if primitive == "softmax_cross_entropy":
        params["smoothing_weight"] = conventions["smoothing_weight"]
        params["label_smoothing"] = draw(st.sampled_from([0.0, 0.1, 0.25]))
    return arrays, params


def _module(primitive):
    return ce if primitive == "softmax_cross_entropy" else nll_loss


@pytest.mark.parametrize("primitive", ["softmax_cross_entropy", "nll_loss"])
@given(data=st.data())
def test_class_loss_forward_matches_oracle(primitive, data):
    arrays, params = data.draw(cases(primitive))
    x, target = arrays.values()
    exact = oracle.values(primitive, x, target, **params)
    budget = budgets.forward(primitive, arrays, params, dtypes.FLOAT64)
    assert np.all(np.abs(_module(primitive).forward(x, target, **params) - exact) <= budget)


@pytest.mark.parametrize("primitive", ["softmax_cross_entropy", "nll_loss"])
@given(data=st.data())
def test_class_loss_backward_matches_oracle(primitive, data):
    arrays, params = data.draw(cases(primitive))
    x, target = arrays.values()
    g = np.full(target.shape, 0.75) if params["reduction"] == "none" else np.asarray(-1.5)
    exact = oracle.gradients(primitive, x, target, g, **params)
    budget = budgets.backward(primitive, arrays, g, params, dtypes.FLOAT64)[next(iter(arrays))]
    assert np.all(np.abs(_module(primitive).backward(x, target, g, **params) - exact) <= budget)


def test_weighted_mean_divides_by_the_kept_weights_or_their_count():
    """Equal logits: every example's loss is log 2 times its label's weight; 4 log 2 over weights 1 + 3 or 2."""
    x, labels, weight = np.zeros((2, 2)), np.array([0, 1]), [1.0, 3.0]
    assert float(ce.forward(x, labels, "sum", weight=weight)) == pytest.approx(4 * LOG2, rel=1e-15)
    assert float(ce.forward(x, labels, weight=weight)) == pytest.approx(LOG2, rel=1e-15)
    assert float(ce.forward(x, labels, weight=weight, mean_divisor="kept_count")) == pytest.approx(2 * LOG2, rel=1e-15)
    assert float(nll_loss.forward(np.log(np.full((2, 2), 0.5)), labels, weight=weight)) == pytest.approx(LOG2)


def test_smoothing_skips_ignored_rows():
    """pytorch/pytorch#73205: with an ignored row, smoothing 0.2 gives the kept row's loss alone (log 2 here),
    whatever the ignored row's logits; its gradient is 0."""
    x, labels = np.array([[0.0, 0.0], [50.0, -50.0]]), np.array([0, -100])
    for reduction in ("mean", "sum"):
        assert float(ce.forward(x, labels, reduction, 0.2, ignore_index=-100)) == pytest.approx(LOG2, rel=1e-15)
    assert np.all(ce.backward(x, labels, 1.0, "mean", 0.2, ignore_index=-100)[1] == 0.0)


@pytest.mark.parametrize("weight", [None, [0.5, 2.0, 1.0]])
def test_ignored_rows_removed_keep_mean_sum_and_gradient(weight):
    rng = np.random.default_rng(7)
    x, labels = rng.normal(size=(5, 3)) * 4, np.array([2, -100, 0, -100, 1])
    kept = labels != -100
    for reduction in ("mean", "sum"):
        full = ce.forward(x, labels, reduction, 0.1, weight=weight, ignore_index=-100)
        assert full == pytest.approx(ce.forward(x[kept], labels[kept], reduction, 0.1, weight=weight), rel=1e-14)
        grad = ce.backward(x, labels, 1.0, reduction, 0.1, weight=weight, ignore_index=-100)
        np.testing.assert_allclose(grad[kept], ce.backward(x[kept], labels[kept], 1.0, reduction, 0.1, weight=weight),
                                   rtol=1e-14)
        assert np.all(grad[~kept] == 0.0)


def test_spatial_is_rows_with_the_class_axis_last():
    """(N, C, d1, d2) is the (N d1 d2, C) rows of its class axis moved last: 'none' has shape (N, d1, d2)."""
    rng = np.random.default_rng(3)
    x, labels = rng.normal(size=(2, 3, 2, 2)), rng.integers(0, 3, size=(2, 2, 2))
    rows, flat = np.moveaxis(x, 1, -1).reshape(-1, 3), labels.reshape(-1)
    assert np.array_equal(ce.forward(x, labels, "none"), ce.forward(rows, flat, "none").reshape(2, 2, 2))
    assert np.array_equal(nll_loss.backward(x, labels, np.ones((2, 2, 2)), "none"),
                          np.moveaxis(nll_loss.backward(rows, flat, np.ones(8), "none").reshape(2, 2, 2, 3), -1, 1))


_X, _L = np.zeros((2, 3)), np.array([0, 2])
BAD = [
    (ce.forward, (_X, _L), {"weight": [1.0, 2.0]}, ValueError, r"cross_entropy.forward: weight must have shape \(3\)"),
    (ce.forward, (_X, _L), {"weight": [1.0, -2.0, 1.0]}, ValueError, r"weight must be >= 0 and not NaN, got -2.0"),
    (ce.forward, (_X, np.eye(3)[_L]), {"ignore_index": 0}, ValueError, r"ignore_index applies to integer labels"),
    (ce.forward, (_X, _L), {"ignore_index": True}, TypeError, r"ignore_index must be an int or None, got bool"),
    (ce.forward, (_X, np.array([0, 5])), {"ignore_index": -100}, ValueError, r"or equal ignore_index = -100, got 5"),
    (ce.forward, (_X, _L), {"mean_divisor": "count"}, ValueError, r"mean_divisor must be one of"),
    (ce.backward, (_X, _L), {"smoothing_weight": "per_row"}, ValueError, r"smoothing_weight must be one of"),
    (ce.forward, (np.zeros((2, 0, 3)), np.zeros((2, 3), dtype=int)), {}, ValueError, r"at least one class"),
    (nll_loss.forward, (_X, np.array([0.0, 1.0])), {}, TypeError, r"nll_loss.forward: target must be integer"),
    (nll_loss.forward, (np.zeros(3), np.array(0)), {}, ValueError, r"nll_loss.forward: log_probs must have shape"),
    (nll_loss.backward, (_X, _L, np.ones(3), "none"), {}, ValueError, r"grad_output must have shape \(2\)"),
]


@pytest.mark.parametrize("function, args, kwargs, error, match", BAD)
def test_class_losses_reject_bad_input(function, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(*args, **kwargs)
