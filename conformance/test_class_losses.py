"""Options of the class-indexed losses (softmax cross-entropy, NLL): class weights, ignore_index, label smoothing
with ignore_index (pytorch#73205), inputs of shape (N, C, d1, ...), and the metamorphic check of ignored rows.
An option the backend does not declare (``Capabilities.options``) is reported unsupported, never passed.

Spec: docs/spec/losses.md#class-weights-and-ignore-index
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnspec.adapters.base import UnsupportedError
from nnspec.conformance import ignored_rows
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.conformance.strategies.class_losses import class_batches
from nnspec.conformance.strategies.losses import label_smoothings, reductions

#: An eighth of the profile's examples (at least 3; 3 at `ci`, 50 at `thorough`): a wrong divisor, a missing
#: weight or an ignored row that counts shows in almost every example, and each new shape costs JAX a compilation.
FEW = settings(max_examples=max(3, settings.default.max_examples // 8))
KINDS = ("forward", "vjp")
#: how each primitive's inputs are drawn
DRAWS = {"softmax_cross_entropy": {"targets": "labels"}, "softmax_cross_entropy_probs": {"targets": "probabilities"},
         "nll_loss": {"log_probs": True}}
LABELLED = ("softmax_cross_entropy", "nll_loss")


def _check(checker, data, primitive: str, kind: str, *, smoothing, **flags) -> None:
    """Draw a batch with ``flags`` (strategies.class_losses), a reduction and (cross-entropy) a smoothing."""
    arrays, params = data.draw(class_batches(checker.fmt, **DRAWS[primitive], **flags), label="batch")
    params["reduction"] = data.draw(reductions, label="reduction")
    if primitive != "nll_loss":
        params["label_smoothing"] = data.draw(smoothing, label="label_smoothing")
    prediction = next(iter(arrays.values()))
    shape = () if params["reduction"] != "none" else prediction.shape[:1] + prediction.shape[2:]
    g = None if kind == "forward" else data.draw(float_arrays(checker.fmt, shape, min_value=-4.0, max_value=4.0),
                                                 label="grad_output")
    try:
        if g is None:
            checker.forward(primitive, arrays, params)
        else:
            checker.vjp(primitive, arrays, g, params)
    except UnsupportedError:  # an input the backend declares it cannot take (Keras: one class with spatial dims)
        assume(False)  # rejected, counted in the report; a test with every draw rejected is unsupported


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(data=st.data())
def test_nll_loss_matches_reference(checker, kind, data):
    """-log_probs[label] per example, every reduction (docs/spec/losses.md#nll-loss)."""
    checker.require("nll_loss", kind)
    _check(checker, data, "nll_loss", kind, smoothing=None)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("primitive", list(DRAWS))
@FEW
@given(data=st.data())
def test_class_loss_weights_match_reference(checker, primitive, kind, data):
    """Class weights, one of them sometimes 0; "mean" of labels divides by the backend's declared divisor."""
    checker.require(primitive, f"class weights {kind}", options=("class_weight",))
    _check(checker, data, primitive, kind, smoothing=label_smoothings, weighted=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("primitive", LABELLED)
@FEW
@given(data=st.data())
def test_class_loss_ignore_index_matches_reference(checker, primitive, kind, data):
    """ignore_index -100 or a class: ignored examples add nothing and get gradient 0; "mean" counts the kept."""
    checker.require(primitive, f"ignore_index {kind}", options=("ignore_index",))
    _check(checker, data, primitive, kind, smoothing=st.just(0.0), ignored=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("primitive", LABELLED)
@FEW
@given(data=st.data())
def test_class_loss_weighted_mean_of_kept_matches_reference(checker, primitive, kind, data):
    """Weights and ignore_index together: "mean" divides by the kept examples' weight sum (PyTorch) or their
    count (Keras, optax with jnp.mean(where=)), as the backend declares."""
    checker.require(primitive, f"weighted mean of kept {kind}", options=("class_weight", "ignore_index"))
    _check(checker, data, primitive, kind, smoothing=st.just(0.0), weighted=True, ignored=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@FEW
@given(data=st.data())
def test_softmax_cross_entropy_smoothing_skips_ignored_rows(checker, weighted, kind, data):
    """Label smoothing with ignore_index: an ignored row enters neither the smoothing term nor the mean
    (pytorch/pytorch#73205: it entered the smoothing term)."""
    options = ("ignore_index", "ignore_index_smoothed") + (("class_weight",) if weighted else ())
    checker.require("softmax_cross_entropy", f"smoothing with ignore_index {kind}", options=options)
    _check(checker, data, "softmax_cross_entropy", kind, smoothing=st.sampled_from([0.1, 0.25]), weighted=weighted,
           ignored=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("primitive", list(DRAWS))
@FEW
@given(data=st.data())
def test_class_loss_spatial_matches_reference(checker, primitive, kind, data):
    """Inputs (N, C, d1) and (N, C, d1, d2), classes on axis 1: "mean" over every position, "none" of shape
    (N, d1, ...)."""
    checker.require(primitive, f"(N, C, d1, ...) {kind}", options=("spatial",))
    _check(checker, data, primitive, kind, smoothing=label_smoothings, spatial=True)


@pytest.mark.parametrize("primitive", LABELLED)
@FEW
@given(data=st.data())
def test_class_loss_ignored_rows_removed_keep_loss(checker, primitive, data):
    """Removing the ignored rows changes neither "mean" nor "sum" nor the kept rows' gradient; the ignored rows'
    gradient is 0 (docs/spec/losses.md#ignored-rows)."""
    checker.require(primitive, "ignored rows removed", options=("ignore_index",))
    arrays, params = data.draw(class_batches(checker.fmt, **DRAWS[primitive], ignored=True), label="batch")
    params["reduction"] = data.draw(st.sampled_from(["mean", "sum"]), label="reduction")
    comparisons = ignored_rows.compare_removed(checker.backend, primitive, arrays, params, checker.fmt)
    checker.expect(comparisons, ignored_rows.case(primitive, arrays, params))
