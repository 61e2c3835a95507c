"""NaN propagation in the reference (docs/spec/conventions.md#nan-propagation).

Each test writes NaN at drawn positions and checks two things against the rule, never against numbers taken from
the code: the NaN pattern of the result is exactly the one the spec's table names, and every element that does
not depend on a NaN equals the reference's result on the same input without it (NaN replaced by a number).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.reference import catalogue, dense
from nnspec.reference.losses import softmax_cross_entropy

FEW = settings(max_examples=40, deadline=None, derandomize=True)
ELEMENTWISE = [p for p in catalogue.PRIMITIVES if p.kind == "elementwise"]
ROWWISE = [p for p in catalogue.PRIMITIVES if p.kind == "rowwise"]
VALUES = st.floats(-30.0, 30.0, allow_nan=False)


@st.composite
def arrays_with_nans(draw, shape):
    """(array with NaN at drawn positions, the same array with a finite value there, the NaN mask)."""
    clean = draw(hnp.arrays(np.float64, shape, elements=VALUES))
    mask = draw(hnp.arrays(np.bool_, shape))
    mask.flat[draw(st.integers(0, mask.size - 1))] = True  # at least one NaN
    return np.where(mask, np.nan, clean), clean, mask


def _same_where(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> bool:
    return bool(np.array_equal(a[keep], b[keep]))


@pytest.mark.parametrize("primitive", ELEMENTWISE, ids=lambda p: p.name)
@FEW
@given(data=arrays_with_nans((3, 4)))
def test_elementwise_nan_is_nan_and_only_there(primitive, data):
    x, clean, mask = data
    g = np.linspace(-2.0, 2.0, x.size).reshape(x.shape)
    y, y_clean = primitive.module.forward(x, **primitive.params), primitive.module.forward(clean, **primitive.params)
    grad = primitive.module.backward(x, g, **primitive.params)
    grad_clean = primitive.module.backward(clean, g, **primitive.params)
    assert np.array_equal(np.isnan(y), mask) and _same_where(y, y_clean, ~mask)
    depends = mask if primitive.name != "identity" else np.zeros_like(mask)  # identity' = 1 reads no x
    assert np.array_equal(np.isnan(grad), depends) and _same_where(grad, grad_clean, ~depends)


def test_relu_of_nan_is_nan_not_zero():
    relu = catalogue.get("relu").module
    assert np.isnan(relu.forward(np.array([np.nan]))[0]) and np.isnan(relu.backward(np.array([np.nan]), np.ones(1))[0])


@pytest.mark.parametrize("primitive", ROWWISE, ids=lambda p: p.name)
@FEW
@given(data=arrays_with_nans((4, 3)), axis=st.sampled_from([-1, 0]))
def test_rowwise_nan_makes_its_row_nan(primitive, data, axis):
    x, clean, mask = data
    rows = np.broadcast_to(np.any(mask, axis=axis, keepdims=True), x.shape)
    g = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    y, grad = primitive.module.forward(x, axis=axis), primitive.module.backward(x, g, axis=axis)
    assert np.array_equal(np.isnan(y), rows) and _same_where(y, primitive.module.forward(clean, axis=axis), ~rows)
    assert np.array_equal(np.isnan(grad), rows)
    assert _same_where(grad, primitive.module.backward(clean, g, axis=axis), ~rows)


@pytest.mark.parametrize("name", ["mean_squared_error", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@FEW
@given(data=arrays_with_nans((5,)), in_target=st.booleans())
def test_elementwise_loss_nan(name, reduction, data, in_target):
    module = catalogue.get(name).module
    x, clean, mask = data
    if name == "binary_cross_entropy":  # probabilities
        x, clean = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(-clean))
    target = clean_target = np.full(5, 0.25)
    if in_target:  # the NaN is in the target, at the same positions
        x, target = clean, np.where(mask, np.nan, clean_target)
    g = np.ones(5) if reduction == "none" else 1.0
    loss = module.forward(x, target, reduction=reduction)
    grad = module.backward(x, target, grad_output=g, reduction=reduction)
    assert np.array_equal(np.isnan(loss), mask if reduction == "none" else np.bool_(True))
    assert np.array_equal(np.isnan(grad), mask)
    assert _same_where(grad, module.backward(clean, clean_target, grad_output=g, reduction=reduction), ~mask)


@FEW
@given(data=arrays_with_nans((4, 3)), smoothing=st.sampled_from([0.0, 0.1]))
def test_cross_entropy_nan_logit_makes_its_example_nan(data, smoothing):
    logits, clean, mask = data
    rows = np.any(mask, axis=1)
    for target in (np.array([0, 1, 2, 0]), np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]] * 2)):  # q = 0 rows too
        loss = softmax_cross_entropy.forward(logits, target, reduction="none", label_smoothing=smoothing)
        grad = softmax_cross_entropy.backward(logits, target, np.ones(4), reduction="none",
                                              label_smoothing=smoothing)
        assert np.array_equal(np.isnan(loss), rows)
        assert np.array_equal(np.isnan(grad), np.broadcast_to(rows[:, None], grad.shape))
        assert np.isnan(softmax_cross_entropy.forward(logits, target, label_smoothing=smoothing))


@FEW
@given(x=arrays_with_nans((3, 4)), weight=arrays_with_nans((4, 2)), bias=arrays_with_nans((2,)),
       which=st.sampled_from(["x", "weight", "bias"]))
def test_dense_nan_rows_and_columns(x, weight, bias, which):
    inputs = {"x": x[1], "weight": weight[1], "bias": bias[1]}
    inputs[which] = {"x": x, "weight": weight, "bias": bias}[which][0]
    g = np.ones((3, 2))
    y, grads = dense.forward(**inputs), dense.backward(**inputs, grad_output=g)
    expected = {  # the spec's table: which outputs and gradients read the NaN
        "x": (np.broadcast_to(x[2].any(axis=1)[:, None], (3, 2)), np.zeros((3, 4), bool),
              np.broadcast_to(x[2].any(axis=0)[:, None], (4, 2))),
        "weight": (np.broadcast_to(weight[2].any(axis=0), (3, 2)), np.broadcast_to(weight[2].any(axis=1), (3, 4)),
                   np.zeros((4, 2), bool)),
        "bias": (np.broadcast_to(bias[2], (3, 2)), np.zeros((3, 4), bool), np.zeros((4, 2), bool)),
    }[which]
    assert np.array_equal(np.isnan(y), expected[0])
    assert np.array_equal(np.isnan(grads.x), expected[1]) and np.array_equal(np.isnan(grads.weight), expected[2])
    assert not np.any(np.isnan(grads.bias))


@pytest.mark.parametrize("name", catalogue.optimizers())
@FEW
@given(data=arrays_with_nans((4,)), at=st.integers(0, 2))
def test_optimizer_nan_gradient_poisons_only_its_element(name, data, at):
    module = catalogue.optimizer(name).module
    grad_nan, grad_clean, mask = data
    keywords = {"momentum": 0.9} if name in ("sgd", "rmsprop") else {}
    param = np.array([1.0, -2.0, 0.5, 3.0])
    runs = []
    for nan_grad in (grad_nan, grad_clean):
        p, state = param, module.init(param, **keywords)
        for index in range(3):
            p, state = module.step(p, nan_grad if index == at else grad_clean / 2, state, **keywords)
        runs.append((p, state))
    (p, state), (p_clean, state_clean) = runs
    assert np.array_equal(np.isnan(p), mask) and _same_where(p, p_clean, ~mask)
    for field, value in state._asdict().items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(np.isnan(value), mask), field
            assert _same_where(value, getattr(state_clean, field), ~mask), field


@FEW
@given(data=arrays_with_nans((4, 3)))
def test_cross_entropy_nan_target_makes_its_example_nan(data):
    """A NaN class probability makes its example's loss and whole gradient row NaN (the gradient reads sum(q))."""
    _, clean, mask = data
    target = np.where(mask, np.nan, 1 / 3)
    rows = np.any(mask, axis=1)
    loss = softmax_cross_entropy.forward(clean, target, reduction="none")
    grad = softmax_cross_entropy.backward(clean, target, np.ones(4), reduction="none")
    assert np.array_equal(np.isnan(loss), rows)
    assert np.array_equal(np.isnan(grad), np.broadcast_to(rows[:, None], grad.shape))
