"""NaN inputs: every element (row, example) that depends on a NaN is NaN, and nothing else is.

NaN is written at drawn positions of otherwise ordinary inputs; the comparison demands NaN exactly where the
reference has it (a finite value there fails, and so does a NaN anywhere else) and holds every other element to
its usual budget. A ``relu(NaN) = 0``, a NaN-swallowing softmax or an optimizer that skips NaN gradients fails.
These tests are about propagation, not accuracy, so they draw few examples.

Spec: docs/spec/conventions.md#nan-propagation
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnspec.adapters.base import UnsupportedError
from nnspec.conformance import optimizer_checks
from nnspec.conformance.strategies.activations import activation_inputs, grad_outputs, rows
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.conformance.strategies.layers import dense_problems
from nnspec.conformance.strategies.losses import (
    classification_batches,
    label_smoothings,
    logit_pairs,
    probability_pairs,
    reductions,
    regression_pairs,
)
from nnspec.conformance.strategies.nan import with_nans, with_nans_in
from nnspec.conformance.strategies.optimizers import optimizer_cases
from nnspec.reference import catalogue, dtypes
from nnspec.reference.losses import _reduction

#: A fifth of the profile's examples (at least 2): every example holds a NaN, so a few catch a dropped one.
FEW = settings(max_examples=max(2, settings.default.max_examples // 5))

ELEMENTWISE = [p.name for p in catalogue.PRIMITIVES if p.kind == "elementwise"]
ROWWISE = [p.name for p in catalogue.PRIMITIVES if p.kind == "rowwise"]
LOSSES = {
    "mean_squared_error": regression_pairs,
    "binary_cross_entropy": probability_pairs,
    "binary_cross_entropy_with_logits": logit_pairs,
    "softmax_cross_entropy": lambda fmt: classification_batches(fmt, targets="labels"),
    "softmax_cross_entropy_probs": lambda fmt: classification_batches(fmt, targets="probabilities"),
}
SLOPES = {"leaky_relu": {"negative_slope": 0.01}}


def _loss_inputs(primitive: str, fmt: dtypes.Format):
    """The loss's inputs with NaN in its differentiable argument (prediction, probability or logits) or in a
    real-valued target (integer class labels have no NaN)."""
    names = catalogue.get(primitive).inputs if primitive != "softmax_cross_entropy" else ("logits",)
    return with_nans_in(LOSSES[primitive](fmt), names)


def _loss_params(primitive: str, reduction: str, smoothing: float) -> dict[str, object]:
    params: dict[str, object] = {"reduction": reduction}
    if primitive.startswith("softmax_cross_entropy"):
        params["label_smoothing"] = smoothing
    return params


@pytest.mark.parametrize("primitive", ELEMENTWISE)
@FEW
@given(data=st.data())
def test_elementwise_nan_forward(checker, primitive, data):
    """f(NaN) = NaN, elementwise; the other elements are unaffected."""
    checker.require(primitive, "NaN forward")
    x = data.draw(with_nans(activation_inputs(checker.fmt)), label="x")
    checker.forward(primitive, {"x": x}, SLOPES.get(primitive, {}))


@pytest.mark.parametrize("primitive", ELEMENTWISE)
@FEW
@given(data=st.data())
def test_elementwise_nan_backward(checker, primitive, data):
    """The gradient at a NaN input is NaN (identity's is grad_output: its derivative does not depend on x)."""
    checker.require(primitive, "NaN backward")
    x = data.draw(with_nans(activation_inputs(checker.fmt)), label="x")
    g = data.draw(grad_outputs(checker.fmt, x.shape), label="grad_output")
    checker.vjp(primitive, {"x": x}, g, SLOPES.get(primitive, {}))


@pytest.mark.parametrize("primitive", ROWWISE)
@FEW
@given(data=st.data())
def test_rowwise_nan_forward(checker, primitive, data):
    """A NaN anywhere in a row makes the whole row NaN; other rows are unaffected."""
    checker.require(primitive, "NaN forward")
    x = data.draw(with_nans(rows(checker.fmt, max_classes=5)), label="x")
    checker.forward(primitive, {"x": x}, {"axis": -1})


@pytest.mark.parametrize("primitive", ROWWISE)
@FEW
@given(data=st.data())
def test_rowwise_nan_backward(checker, primitive, data):
    """The gradient of a row with a NaN is NaN in the whole row; other rows are unaffected."""
    checker.require(primitive, "NaN backward")
    x = data.draw(with_nans(rows(checker.fmt, max_classes=5)), label="x")
    g = data.draw(grad_outputs(checker.fmt, x.shape), label="grad_output")
    checker.vjp(primitive, {"x": x}, g, {"axis": -1})


@pytest.mark.parametrize("primitive", list(LOSSES))
@FEW
@given(data=st.data(), reduction=reductions, smoothing=label_smoothings)
def test_loss_nan_forward(checker, primitive, data, reduction, smoothing):
    """'none': NaN at each element (example) with a NaN input or target; 'mean' and 'sum': NaN."""
    checker.require(primitive, "NaN forward")
    arrays = data.draw(_loss_inputs(primitive, checker.fmt), label="arrays")
    checker.forward(primitive, arrays, _loss_params(primitive, reduction, smoothing))


@pytest.mark.parametrize("primitive", list(LOSSES))
@FEW
@given(data=st.data(), reduction=reductions, smoothing=label_smoothings)
def test_loss_nan_backward(checker, primitive, data, reduction, smoothing):
    """The gradient is NaN at each element (for cross-entropy: each row) with a NaN input or target, also under
    'mean'."""
    checker.require(primitive, "NaN backward")
    arrays = data.draw(_loss_inputs(primitive, checker.fmt), label="arrays")
    first = arrays[catalogue.get(primitive).differentiable[0]]
    shape = () if reduction != "none" else first.shape[:1] if primitive.startswith("softmax_") else first.shape
    last_axis = checker.backend.capabilities().conventions.get(primitive, {}).get("last_axis")  # losses.md#last-axis
    shape = _reduction.loss_shape(shape, last_axis) if reduction == "none" and shape else shape
    g = data.draw(float_arrays(checker.fmt, shape, min_value=-4.0, max_value=4.0), label="grad_output")
    checker.vjp(primitive, arrays, g, _loss_params(primitive, reduction, smoothing))


@FEW
@given(data=st.data())
def test_dense_nan_forward(checker, data):
    """NaN in x[n, k] makes row n NaN; in weight[k, j] or bias[j], column j."""
    checker.require("dense", "NaN forward")
    problem = data.draw(with_nans_in(dense_problems(checker.fmt, max_features=8), ("x", "weight", "bias")),
                        label="problem")
    checker.forward("dense", {k: v for k, v in problem.items() if k != "grad_output"})


@FEW
@given(data=st.data())
def test_dense_nan_backward(checker, data):
    """NaN in x[n, k] makes grad of weight row k NaN; in weight[k, j], grad of x column k; bias's is unaffected."""
    checker.require("dense", "NaN backward")
    problem = data.draw(with_nans_in(dense_problems(checker.fmt, max_features=8), ("x", "weight", "bias")),
                        label="problem")
    checker.vjp("dense", {k: v for k, v in problem.items() if k != "grad_output"}, problem["grad_output"])


@pytest.mark.parametrize("optimizer", catalogue.optimizers())
@FEW
@given(data=st.data())
def test_optimizer_nan_gradient(checker, optimizer, data):
    """A NaN gradient element makes that parameter element and its state elements NaN from then on; every
    other element takes its ordinary steps (the optimizer neither skips the step nor spreads the NaN)."""
    optimizer_checks.require(checker, optimizer, "NaN gradient")
    hyper, param, grads = data.draw(optimizer_cases(optimizer, checker.fmt, max_steps=3), label="case")
    hyper = optimizer_checks.with_fixed(checker.backend, optimizer, hyper)
    at = data.draw(st.integers(0, len(grads) - 1), label="NaN at step")
    grads = [*grads[:at], data.draw(with_nans(st.just(grads[at]), max_count=1), label="NaN gradient"),
             *grads[at + 1:]]
    try:
        comparisons = optimizer_checks.trajectory(checker.backend, optimizer, hyper, param, grads, checker.fmt)
    except UnsupportedError:
        assume(False)
    checker.expect(comparisons, optimizer_checks.case("optimizer_trajectory", optimizer, hyper, param, grads))
