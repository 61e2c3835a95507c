"""Algebraic properties, run against the backend itself (no reference value involved): the relations the spec's
formulas imply must hold between the backend's own results, within the sum of their budgets.

Spec: docs/spec/activations.md, docs/spec/losses.md, docs/spec/perceptron-and-dense.md#dense-backward
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import budgets
from nnspec.conformance.comparison import compare
from nnspec.conformance.errormodel import gamma
from nnspec.conformance.strategies.activations import activation_inputs
from nnspec.conformance.strategies.arrays import float_arrays, shapes
from nnspec.conformance.strategies.layers import dense_problems
from nnspec.conformance.strategies.losses import logit_pairs


def _none(checker, primitive: str) -> dict:
    """Reduction "none" with the backend's declared last-axis step (Keras: each sample's mean over the last axis,
    docs/spec/losses.md#last-axis), so that the budget has the shape of the backend's losses."""
    conventions = checker.backend.capabilities().conventions.get(primitive, {})
    return {"reduction": "none", **{k: v for k, v in conventions.items() if k == "last_axis"}}


def _case(primitive: str, arrays: dict, spec: str) -> dict:
    return {"kind": "property", "primitive": primitive, "arrays": arrays, "spec": spec}


@given(data=st.data())
def test_sigmoid_symmetric(checker, data):
    """sigmoid(-x) = 1 - sigmoid(x)."""
    checker.require("sigmoid", "sigmoid(-x) = 1 - sigmoid(x)")
    x = data.draw(activation_inputs(checker.fmt), label="x")
    forward = checker.backend.forward
    total = forward("sigmoid", {"x": x}, {}, checker.dtype) + forward("sigmoid", {"x": -x}, {}, checker.dtype)
    budget = (budgets.forward("sigmoid", {"x": x}, {}, checker.fmt)
              + budgets.forward("sigmoid", {"x": -x}, {}, checker.fmt))
    checker.expect({"sigmoid(x) + sigmoid(-x)": compare(total, np.ones_like(x), budget)},
                   _case("sigmoid", {"x": x}, "docs/spec/activations.md#sigmoid"))


@given(data=st.data())
def test_relu_idempotent(checker, data):
    """relu(relu(x)) = relu(x), exactly."""
    checker.require("relu", "idempotent")
    x = data.draw(activation_inputs(checker.fmt), label="x")
    once = checker.backend.forward("relu", {"x": x}, {}, checker.dtype)
    twice = checker.backend.forward("relu", {"x": once}, {}, checker.dtype)
    checker.expect({"relu(relu(x))": compare(twice, once, np.zeros_like(x))},
                   _case("relu", {"x": x}, "docs/spec/activations.md#relu"))


@given(data=st.data())
def test_binary_cross_entropy_with_logits_nonnegative(checker, data):
    checker.require("binary_cross_entropy_with_logits", "loss >= 0")
    arrays = data.draw(logit_pairs(checker.fmt), label="arrays")
    params = _none(checker, "binary_cross_entropy_with_logits")
    loss = checker.backend.forward("binary_cross_entropy_with_logits", arrays, params, checker.dtype)
    budget = budgets.forward("binary_cross_entropy_with_logits", arrays, params, checker.fmt)
    below = np.where(np.isnan(loss), np.inf, np.minimum(loss, 0.0))
    checker.expect({"min(loss, 0)": compare(below, np.zeros_like(below), budget)},
                   _case("binary_cross_entropy_with_logits", arrays,
                         "docs/spec/losses.md#binary-cross-entropy-with-logits"))


@given(data=st.data())
def test_binary_cross_entropy_with_logits_equals_bce_of_sigmoid(checker, data):
    """BCE on logits x equals BCE on probabilities sigmoid(x) where both are well conditioned: |x| <= 8, and
    small enough that sigmoid(x) is not rounded to 0 or 1 in the dtype (|x| <= ln(1/u) - 1: 4.5 in bfloat16)."""
    checker.require("binary_cross_entropy_with_logits", "= BCE(sigmoid(x))")
    checker.require("binary_cross_entropy", "= BCE(sigmoid(x))")
    checker.require("sigmoid", "= BCE(sigmoid(x))")
    shape = data.draw(shapes(), label="shape")
    bound = min(8.0, float(np.log(1 / checker.fmt.unit_roundoff)) - 1)
    x = data.draw(float_arrays(checker.fmt, shape, min_value=-bound, max_value=bound), label="x")
    y = data.draw(float_arrays(checker.fmt, shape, min_value=0.0, max_value=1.0), label="y")
    params, dtype, fmt, backend = (_none(checker, "binary_cross_entropy_with_logits"), checker.dtype, checker.fmt,
                                   checker.backend)
    if params != _none(checker, "binary_cross_entropy"):
        return  # the two losses reduce differently: nothing to compare elementwise
    p = backend.forward("sigmoid", {"x": x}, {}, dtype)  # exact in dtype: the backend returned it in dtype
    from_logits = backend.forward("binary_cross_entropy_with_logits", {"logits": x, "target": y}, params, dtype)
    from_probability = backend.forward("binary_cross_entropy", {"probability": p, "target": y}, params, dtype)
    slope = np.abs((p - y) / (p * (1 - p)))  # d BCE / dp at p, carries sigmoid's error into the loss
    carried = 2 * slope * budgets.forward("sigmoid", {"x": x}, {}, fmt)
    if params.get("last_axis"):  # each sample's mean over the last axis carries the mean of the elements' errors
        carried = np.mean(carried, axis=-1)
    budget = (budgets.forward("binary_cross_entropy_with_logits", {"logits": x, "target": y}, params, fmt)
              + budgets.forward("binary_cross_entropy", {"probability": p, "target": y}, params, fmt)
              + carried)
    checker.expect({"BCE(sigmoid(x)) vs BCE-with-logits(x)": compare(from_probability, from_logits, budget)},
                   _case("binary_cross_entropy_with_logits", {"x": x, "y": y},
                         "docs/spec/losses.md#binary-cross-entropy-with-logits"))


@given(data=st.data())
def test_dense_bias_gradient_is_batch_sum(checker, data):
    """The gradient of a broadcast bias is the sum over the batch of the upstream gradient (pytorch#1787)."""
    checker.require("dense", "bias gradient = batch sum")
    problem = data.draw(dense_problems(checker.fmt), label="problem")
    bias = problem["bias"] if problem["bias"] is not None else np.zeros(problem["weight"].shape[1])
    arrays = {"x": problem["x"], "weight": problem["weight"], "bias": bias}
    g = problem["grad_output"]
    grad_bias = checker.backend.vjp("dense", arrays, {}, g, checker.dtype)["bias"]
    budget = gamma(g.shape[0], checker.fmt.unit_roundoff) * np.sum(np.abs(g), axis=0)
    checker.expect({"grad of bias vs sum of grad_output": compare(grad_bias, np.sum(g, axis=0), budget)},
                   _case("dense", arrays, "docs/spec/backpropagation.md#gradient-of-broadcast-bias"))
