"""Self-tests of reference/normalization/ (docs/spec/normalization.md): layer_norm and batch_norm against the
SymPy/mpmath oracle (conformance/oracles/normalization.py), under the rooms' bounds evaluated in float64 alone
(the reference's own rounding, without the dtype term a backend gets), and hand-checked values.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.conformance import errormodel
from nnspec.conformance.normalization import _bounds
from nnspec.conformance.normalization import batch_norm as batch_norm_room
from nnspec.conformance.normalization import layer_norm as layer_norm_room
from nnspec.conformance.oracles import normalization as oracle
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dtypes
from nnspec.reference.normalization import batch_norm, layer_norm, running_stats

F64 = dtypes.FLOAT64
FLOOR = errormodel.UNDERFLOW_FLOOR * F64.tiny
CASES = [(layer_norm, layer_norm_room, oracle.layer_norm_values, oracle.layer_norm_vjp),
         (batch_norm, batch_norm_room, oracle.batch_norm_values, oracle.batch_norm_vjp)]


@st.composite
def small_problems(draw) -> dict:
    """x (N, n) = offset + spread * z with N, n in 2..5 (SymPy's cost grows with the group), weight, bias, g."""
    shape = (draw(st.integers(2, 5)), draw(st.integers(1, 5)))
    offset, spread = draw(st.sampled_from([0.0, 3.0, 1e3])), draw(st.sampled_from([1e-2, 1.0, 30.0]))
    x = offset + spread * draw(float_arrays(dtypes.FLOAT64, shape, min_value=-1.0, max_value=1.0))
    vector = float_arrays(dtypes.FLOAT64, (shape[1],), min_value=-4.0, max_value=4.0)
    return {"x": x, "weight": draw(vector), "bias": draw(vector),
            "grad_output": draw(float_arrays(dtypes.FLOAT64, shape, min_value=-4.0, max_value=4.0)),
            "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1]))}


@pytest.mark.parametrize(("module", "room", "values", "_"), CASES, ids=["layer_norm", "batch_norm"])
@settings(max_examples=25, deadline=None)
@given(problem=small_problems())
def test_forward_matches_the_oracle_within_its_float64_bound(module, room, values, _, problem):
    arrays = {k: problem[k] for k in ("x", "weight", "bias")}
    expected = values(**arrays, eps=problem["eps"])
    bound = room.forward_bound(arrays, {"eps": problem["eps"]}, F64) + FLOOR
    assert np.all(np.abs(module.forward(**arrays, eps=problem["eps"]) - expected) <= bound)


@pytest.mark.parametrize(("module", "room", "_", "vjp"), CASES, ids=["layer_norm", "batch_norm"])
@settings(max_examples=25, deadline=None)
@given(problem=small_problems())
def test_backward_matches_the_oracle_within_its_float64_bound(module, room, _, vjp, problem):
    arrays = {k: problem[k] for k in ("x", "weight", "bias")}
    grads = module.backward(**arrays, grad_output=problem["grad_output"], eps=problem["eps"])
    exact = dict(zip(("x", "weight", "bias"), vjp(**arrays, eps=problem["eps"], grad_output=problem["grad_output"])))
    bound = room.backward_bound(arrays, problem["grad_output"], {"eps": problem["eps"]}, F64)
    for name in ("x", "weight", "bias"):
        # the oracle's own sum of per-position weight and bias gradients rounds once per term (batch_norm)
        slack = errormodel.gamma(problem["x"].shape[0], F64.unit_roundoff) * np.abs(exact[name])
        assert np.all(np.abs(getattr(grads, name) - exact[name]) <= bound[name] + slack + FLOOR), name


def test_layer_norm_puts_eps_inside_the_square_root():
    """x = [-1, 1]: variance 1, so y = x / sqrt(1 + eps); eps = 3 gives +-1/2 (outside it would give +-1/4)."""
    y = layer_norm.forward(np.array([-1.0, 1.0]), np.ones(2), np.zeros(2), eps=3.0)
    assert y.tolist() == [-0.5, 0.5]


def test_layer_norm_uses_the_biased_variance():
    """x = [0, 2, 4]: mean 2, biased variance 8/3 (unbiased would be 4); y = [-1, 0, 1] * sqrt(3/2) at eps = 0."""
    y = layer_norm.forward(np.array([[0.0, 2.0, 4.0]]), np.ones(3), np.zeros(3), eps=0.0)
    np.testing.assert_allclose(y, [[-np.sqrt(1.5), 0.0, np.sqrt(1.5)]], rtol=4 * F64.unit_roundoff)


def test_batch_norm_of_a_batch_of_one_is_the_bias():
    y = batch_norm.forward(np.array([[3.0, -2.0]]), np.array([2.0, 5.0]), np.array([0.5, -1.0]), eps=1e-3)
    assert y.tolist() == [[0.5, -1.0]]


def test_batch_norm_normalizes_each_channel_over_the_batch():
    """Channel 0 = [1, 3] -> [-1, 1]; channel 1 = [10, 10] (constant) -> its bias; eps = 0 is exact for channel 0."""
    x = np.array([[1.0, 10.0], [3.0, 10.0]])
    y = batch_norm.forward(x, np.ones(2), np.array([0.0, 7.0]), eps=1e-300)
    assert y.tolist() == [[-1.0, 7.0], [1.0, 7.0]]


@pytest.mark.parametrize(("function", "arguments", "match"), [
    (layer_norm.forward, {"x": np.ones((2, 3)), "weight": np.ones(2), "bias": np.zeros(3)},
     r"layer_norm\.forward: weight must have shape \(3\)"),
    (layer_norm.forward, {"x": np.ones((2, 3)), "weight": np.ones(3), "bias": np.zeros(3), "eps": -1.0},
     r"layer_norm\.forward: eps must be in"),
    (batch_norm.forward, {"x": np.ones(3), "weight": np.ones(3), "bias": np.zeros(3)},
     r"batch_norm\.forward: x must have at least 2"),
    (batch_norm.forward, {"x": np.ones((2, 2, 2)), "weight": np.ones(2), "bias": np.zeros(2)},
     r"batch_norm\.forward: x must have shape"),
    (layer_norm.backward, {"x": np.ones((2, 3)), "weight": np.ones(3), "bias": np.zeros(3)},
     r"layer_norm\.backward: grad_output is required"),
    (batch_norm.backward, {"x": np.ones((2, 3)), "weight": np.ones(3), "bias": np.zeros(3),
                           "grad_output": np.ones((3, 2))},
     r"batch_norm\.backward: grad_output must have the same shape as x"),
    (running_stats.after_batches, {"batches": [np.ones((1, 2))]},
     r"running_stats\.after_batches: batches\[0\] must have at least 2 rows"),
    (running_stats.after_batches, {"batches": [np.ones((2, 2)), np.ones((2, 3))]},
     r"running_stats\.after_batches: batches\[1\] must have shape"),
    (running_stats.after_batches, {"batches": [np.ones((2, 2))], "momentum_weights": "newest"},
     r"running_stats\.after_batches: momentum_weights must be one of"),
])
def test_bad_arguments_name_the_function_and_the_argument(function, arguments, match):
    with pytest.raises((ValueError, TypeError), match=match):
        function(**arguments)


def test_running_statistics_follow_each_convention():
    """One batch [[1], [3]] (mean 2, biased variance 1, unbiased 2), momentum 0.25, from (0, 1): torch weights
    the new batch (0.75 * old + 0.25 * new), Keras the old value (0.25 * old + 0.75 * new)."""
    batches = [np.array([[1.0], [3.0]])]
    torch_like = running_stats.after_batches(batches, momentum=0.25)
    keras_like = running_stats.after_batches(batches, momentum=0.25, momentum_weights="old",
                                             running_variance="biased")
    assert [torch_like[0].tolist(), torch_like[1].tolist()] == [[0.5], [1.25]]
    assert [keras_like[0].tolist(), keras_like[1].tolist()] == [[1.5], [1.0]]


def test_running_statistics_after_two_batches_compound():
    """Momentum 0.5 ("new"): mean 0 -> 1 (batch mean 2) -> 2.5 (batch mean 4)."""
    batches = [np.array([[1.0], [3.0]]), np.array([[3.0], [5.0]])]
    assert running_stats.after_batches(batches, momentum=0.5)[0].tolist() == [2.5]


def test_inference_uses_the_running_statistics_row_by_row():
    x = np.array([[4.0, 0.0], [1.0, 2.0]])
    y = running_stats.inference(x, np.array([2.0, 1.0]), np.array([1.0, 0.0]), np.array([1.0, 2.0]),
                                np.array([9.0, 4.0]), eps=0.0)
    assert y.tolist() == [[3.0, -1.0], [1.0, 0.0]]


def test_x_gradient_budget_covers_a_flushed_product():
    """Keras float32 returned -6.5e-34 for an exact 0 (a constant upstream gradient) at this row: a product below
    the normal range flushed to zero, magnified by 1 / (variance + eps) (docs/spec/error-budgets.md#normalization)."""
    x = np.array([[0.0] + [float(np.float32(0.01))] * 5])
    g = np.full((1, 6), float(np.float32(5.246634215959262e-35)))
    bound = layer_norm_room.backward_bound({"x": x, "weight": np.full(6, 0.125), "bias": np.zeros(6)}, g,
                                           {"eps": 1e-5}, dtypes.get("float32"))
    assert bound["x"][0, 0] >= 6.501043038218852e-34


def test_weight_gradient_budget_covers_a_flushed_product():
    """Keras float32 returned 0 for -3.4e-36 here: g * mean = -1.1e-38 flushed to zero before the factor
    1 / sqrt(variance + eps) = 312 (docs/spec/error-budgets.md#normalization)."""
    x = np.array([[float(np.float32(0.00125)), 0.0, 0.0, 0.0, 0.0, 0.0]])
    g = np.full((1, 6), float(np.float32(5.246634215959262e-35)))
    bound = layer_norm_room.backward_bound({"x": x, "weight": np.zeros(6), "bias": np.zeros(6)}, g,
                                           {"eps": 1e-5}, dtypes.get("float32"))
    assert bound["weight"][1] >= 3.419617637733382e-36


def test_x_gradient_budget_covers_a_flush_after_the_inverse_cube():
    """TensorFlow float32 (seed 101 of the false-alarm runs) returned [-1.3027, 1.6286, -0.3256] e-36 for the exact
    [-1.4656, 1.4656, 0.0000] e-36: autodiff's dL/dv / n, 0.69 smallest normals, flushed to 0 and then multiplied
    by 2 (x_j - mean) = [20, 20, -40]; with the scale 2**40 larger nothing underflows and TensorFlow agrees to
    5e-6 smallest normals (docs/false-alarms.md#constant-choice-arrays)."""
    x = np.array([[-0.0], [0.0], [-30.0]])
    g = np.array([[2.0], [-4.0], [float.fromhex("0x1.08ece2p-11")]])
    weight = np.array([float.fromhex("-0x1.25e13p-117")])
    observed = np.array([-1.3027057e-36, 1.6285673e-36, -3.256147e-37])
    exact = batch_norm.backward(x, weight, np.array([2.0**-10]), g, eps=1e-5).x.ravel()
    bound = batch_norm_room.backward_bound({"x": x, "weight": weight, "bias": np.array([2.0**-10])}, g,
                                           {"eps": 1e-5}, dtypes.get("float32"))
    assert np.all(np.abs(observed - exact) <= bound["x"].ravel())
    late = _bounds._late_flushes(x - x.mean(axis=0), 1 / np.sqrt(x.var(axis=0) + 1e-5), g * weight, 0,
                                 dtypes.get("float32"))
    assert np.all(np.abs(observed - exact) > (bound["x"] - late).ravel())  # the other terms do not cover it
