"""Self-tests of the elementwise losses (MSE, BCE, BCE with logits) and the reductions, against the 50-digit oracle.

Budgets are in units of float64 rounding u = 2**-53: |observed - exact| <= ops * u * scale (+ ops smallest
normals), with ``scale`` the sum of the magnitudes of the formula's terms at the input (docs/spec/losses.md):
    MSE          forward: (p - t)**2, 4 ops                  backward: |2 (p - t) g / n|, 4 ops
    BCE          forward: y|log p| + (1-y)|log(1-p)|, 6 ops  backward: |exact gradient|, 7 ops
    BCE logits   forward: the loss (three terms >= 0), 7 ops backward: ((1-y) s(x) + y s(-x)) |g / n|, 10 ops
A reduction of n terms adds n - 1 ops on the sum of the scales, "mean" one more (then divides the scale by n).
Every count includes one op for the oracle's own rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.oracles import losses as oracle
from nnspec.conformance.strategies.activations import grad_outputs
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.conformance.strategies.losses import (
    logit_pairs,
    probability_pairs,
    reductions,
    regression_pairs,
    residual_pairs,
)
from nnspec.reference import dtypes
from nnspec.reference.losses import binary_cross_entropy as bce
from nnspec.reference.losses import binary_cross_entropy_with_logits as bce_logits
from nnspec.reference.losses import huber
from nnspec.reference.losses import mean_squared_error as mse

U = 2.0**-53
TINY = 2.0**-1022
INF = np.inf


def _within_budget(observed, exact, scale, ops) -> bool:
    """|observed - exact| <= ops * u * scale + ops * tiny; a non-finite exact value must be met exactly."""
    observed, exact = np.asarray(observed, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    same = (observed == exact) | (np.isnan(observed) & np.isnan(exact))
    with np.errstate(invalid="ignore"):
        close = np.isfinite(exact) & (np.abs(observed - exact) <= ops * U * scale + ops * TINY)
    return observed.shape == exact.shape and bool(np.all(same | close))


def _reduced(scale: np.ndarray, ops: int, reduction: str, count: int) -> tuple[np.ndarray, int]:
    """Carry a per-element budget through a reduction of ``count`` terms."""
    if reduction == "none":
        return scale, ops
    with np.errstate(over="ignore"):
        total = np.sum(np.where(np.isfinite(scale), scale, 0.0))
    return (total / count, ops + count) if reduction == "mean" else (total, ops + count - 1)


def _safe_product(weight, value):
    with np.errstate(invalid="ignore"):
        return np.where(weight == 0, 0.0, weight * value)


@st.composite
def grads(draw, reduction: str, shape: tuple[int, ...]):
    """A grad_output for ``reduction``: a Python float or 0-d array for "mean"/"sum", an array for "none".

    Scalars stay above 2**-20 in magnitude (or are 0): "mean" divides g by n first, and a g/n below the normal
    range carries an absolute error that the product with a huge local derivative would blow up, which the
    relative budget does not model."""
    if reduction == "none":
        return draw(grad_outputs(dtypes.FLOAT64, shape))
    magnitude = draw(st.one_of(st.just(0.0), st.floats(2.0**-20, 8.0)))
    sign = draw(st.sampled_from([1.0, -1.0]))
    return draw(st.sampled_from([sign * magnitude, np.array(sign * magnitude)]))


def _upstream(g, reduction: str, count: int) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    return g / count if reduction == "mean" else g


# --- mean squared error -------------------------------------------------------------------------------------


@given(regression_pairs(dtypes.FLOAT64), reductions)
def test_mean_squared_error_forward_matches_oracle(pair, reduction):
    p, t = pair["prediction"] / 16, pair["target"] / 16  # a sum of up to 125 squares must not overflow
    exact = oracle.loss_values("mean_squared_error", p, t, reduction)
    scale, ops = _reduced((p - t) ** 2, 4, reduction, p.size)
    assert _within_budget(mse.forward(p, t, reduction), exact, scale, ops)


@given(regression_pairs(dtypes.FLOAT64), reductions, st.data())
def test_mean_squared_error_backward_matches_oracle(pair, reduction, data):
    p, t = pair["prediction"], pair["target"]
    g = data.draw(grads(reduction, p.shape))
    exact = oracle.loss_gradients("mean_squared_error", p, t, g, reduction)
    scale = np.abs(2 * (p - t) * _upstream(g, reduction, p.size))
    assert _within_budget(mse.backward(p, t, g, reduction), exact, scale, 4)


# --- binary cross-entropy -------------------------------------------------------------------------------------

log_floors = st.sampled_from([None, -100.0, -1.0])


@given(probability_pairs(dtypes.FLOAT64), reductions, log_floors)
def test_binary_cross_entropy_forward_matches_oracle(pair, reduction, log_floor):
    p, y = pair["probability"], pair["target"]
    exact = oracle.loss_values("binary_cross_entropy", p, y, reduction, log_floor=log_floor)
    floor = -np.inf if log_floor is None else log_floor
    with np.errstate(divide="ignore"):
        logs = np.maximum(np.log(p), floor), np.maximum(np.log1p(-p), floor)
    terms = _safe_product(y, -logs[0]) + _safe_product(1 - y, -logs[1])
    scale, ops = _reduced(terms, 6, reduction, p.size)
    assert _within_budget(bce.forward(p, y, reduction, log_floor=log_floor), exact, scale, ops)


@given(probability_pairs(dtypes.FLOAT64), reductions, log_floors, st.sampled_from([None, 1e-12]), st.data())
def test_binary_cross_entropy_backward_matches_oracle(pair, reduction, log_floor, denominator_floor, data):
    p, y = pair["probability"], pair["target"]
    g = data.draw(grads(reduction, p.shape))
    options = {"log_floor": log_floor, "denominator_floor": denominator_floor}
    exact = oracle.loss_gradients("binary_cross_entropy", p, y, g, reduction, **options)
    observed = bce.backward(p, y, g, reduction, **options)
    assert _within_budget(observed, exact, np.abs(exact), 7)


@st.composite
def near_targets(draw):
    """probability p and a soft target y a few ulps from p: where -y/p + (1-y)/(1-p) cancels."""
    p = draw(float_arrays(dtypes.FLOAT64, (4,), min_value=1e-6, max_value=1.0 - 1e-6))
    steps = np.array(draw(st.lists(st.integers(-4, 4), min_size=4, max_size=4)), dtype=np.float64)
    return p, np.clip(p + steps * np.spacing(p), 0.0, 1.0)


@given(near_targets())
def test_binary_cross_entropy_backward_near_target_matches_oracle(pair):
    p, y = pair
    exact = oracle.loss_gradients("binary_cross_entropy", p, y, 1.0, "sum")
    assert _within_budget(bce.backward(p, y, 1.0, "sum"), exact, np.abs(exact), 7)


def test_binary_cross_entropy_pinned_edges():
    p, y = np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(bce.forward(p, y, "none"), [0.0, INF, INF, 0.0])
    np.testing.assert_array_equal(bce.backward(p, y, 1.0, "sum"), [1.0, -INF, INF, -1.0])


def test_binary_cross_entropy_pytorch_variant_edges():
    p, y = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    np.testing.assert_array_equal(bce.forward(p, y, "none", log_floor=-100.0), [0.0, 100.0, 100.0])
    torch_grad = bce.backward(p, y, 1.0, "sum", log_floor=-100.0, denominator_floor=1e-12)
    np.testing.assert_array_equal(torch_grad, [0.0, -1e12, 1e12])


def test_binary_cross_entropy_keras_clip_variant():
    """clip_probability=c evaluates the loss at clip(p, c, 1 - c); the gradient is 0 where p was clipped."""
    c = 1e-7
    p, y = np.array([0.0, 0.0, 1.0, 1.0, 0.5, c]), np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    clipped = np.array([c, c, 1 - c, 1 - c, 0.5, c])
    np.testing.assert_array_equal(bce.forward(p, y, "none", clip_probability=c), bce.forward(clipped, y, "none"))
    assert np.all(np.isfinite(bce.forward(p, y, "none", clip_probability=c)))
    grad = bce.backward(p, y, 1.0, "sum", clip_probability=c)
    np.testing.assert_array_equal(grad[:4], 0.0)
    np.testing.assert_array_equal(grad[4:], bce.backward(clipped[4:], y[4:], 1.0, "sum"))  # p = c: not clipped
    np.testing.assert_array_equal(bce.forward(p, y, "mean", clip_probability=c),
                                  np.sum(bce.forward(clipped, y, "none")) / p.size)


# --- binary cross-entropy with logits ---------------------------------------------------------------------------


@given(logit_pairs(dtypes.FLOAT64, allow_infinity=True), reductions)
def test_binary_cross_entropy_with_logits_forward_matches_oracle(pair, reduction):
    x, y = pair["logits"], pair["target"]
    exact = oracle.loss_values("binary_cross_entropy_with_logits", x, y, reduction)
    scale, ops = _reduced(
        oracle.loss_values("binary_cross_entropy_with_logits", x, y, "none"), 7, reduction, x.size
    )
    assert _within_budget(bce_logits.forward(x, y, reduction), exact, scale, ops)


@given(logit_pairs(dtypes.FLOAT64, allow_infinity=True), reductions, st.data())
def test_binary_cross_entropy_with_logits_backward_matches_oracle(pair, reduction, data):
    x, y = pair["logits"], pair["target"]
    g = data.draw(grads(reduction, x.shape))
    exact = oracle.loss_gradients("binary_cross_entropy_with_logits", x, y, g, reduction)
    with np.errstate(over="ignore"):
        sigmoid, sigmoid_of_minus = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(x))
    scale = ((1 - y) * sigmoid + y * sigmoid_of_minus) * np.abs(_upstream(g, reduction, x.size))
    assert _within_budget(bce_logits.backward(x, y, g, reduction), exact, scale, 10)


def test_binary_cross_entropy_with_logits_pinned_infinities():
    x = np.array([INF, INF, INF, -INF, -INF, -INF])
    y = np.array([1.0, 0.0, 0.5, 0.0, 1.0, 0.5])
    np.testing.assert_array_equal(bce_logits.forward(x, y, "none"), [0.0, INF, INF, 0.0, INF, INF])
    np.testing.assert_array_equal(bce_logits.backward(x, y, 1.0, "sum"), [0.0, 1.0, 0.5, 0.0, -1.0, -0.5])


def test_binary_cross_entropy_with_logits_huge_logits_are_finite():
    x, y = np.array([1e300, 1e300, -1e300, -1e300]), np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(bce_logits.forward(x, y, "none"), [0.0, 1e300, 0.0, 1e300])
    np.testing.assert_array_equal(bce_logits.backward(x, y, 1.0, "sum"), [0.0, 1.0, 0.0, -1.0])


@given(
    float_arrays(dtypes.FLOAT64, (6,), min_value=-5.0, max_value=5.0),
    float_arrays(dtypes.FLOAT64, (6,), min_value=0.0, max_value=1.0),
)
def test_binary_cross_entropy_with_logits_equals_bce_of_sigmoid(x, y):
    # moderate logits; an error of 3u p in p moves log p by 3u, log(1 - p) by 3u p / (1 - p)
    p = 1 / (1 + np.exp(-x))
    scale = 1 + 1 / (1 - p) + bce_logits.forward(x, y, "none")
    assert _within_budget(bce.forward(p, y, "none"), bce_logits.forward(x, y, "none"), scale, 16)


# --- Huber and smooth-L1 ------------------------------------------------------------------------------------------
# Budgets: forward 0.5 r**2 or delta (|r| - delta / 2) after r = p - t: 4 ops of |loss| (smooth-L1 one more for the
# division), each op at most u |loss| since delta |r| <= 2 loss beyond the kink; backward clip(r, -delta, delta) g:
# 3 ops of |slope g| (smooth-L1 one more), plus the oracle's own rounding in each.

VARIANTS = st.sampled_from([("huber", 0.25), ("huber", 1.0), ("huber", 2.0), ("smooth_l1", 0.0), ("smooth_l1", 0.25),
                            ("smooth_l1", 1.5)])


@given(VARIANTS, reductions, st.data())
def test_huber_forward_matches_oracle(variant_delta, reduction, data):
    variant, delta = variant_delta
    pair = data.draw(residual_pairs(dtypes.FLOAT64, delta))
    p, t = pair["prediction"], pair["target"]
    exact = oracle.loss_values(variant, p, t, reduction, delta=delta)
    scale, ops = _reduced(oracle.loss_values(variant, p, t, "none", delta=delta), 6, reduction, p.size)
    assert _within_budget(huber.forward(p, t, delta, reduction, variant), exact, scale, ops)


@given(VARIANTS, reductions, st.data())
def test_huber_backward_matches_oracle(variant_delta, reduction, data):
    variant, delta = variant_delta
    pair = data.draw(residual_pairs(dtypes.FLOAT64, delta))
    p, t = pair["prediction"], pair["target"]
    g = data.draw(grads(reduction, p.shape))
    exact = oracle.loss_gradients(variant, p, t, g, reduction, delta=delta)
    assert _within_budget(huber.backward(p, t, g, delta, reduction, variant), exact, np.abs(exact), 5)


def test_huber_pinned_edges():
    """|r| = delta on either branch, r = 0, r = +-inf (slope +-delta), inf - inf and NaN."""
    p = np.array([2.0, -2.0, 0.0, INF, -INF, INF, np.nan])
    t = np.array([0.0, 0.0, 0.0, 0.0, 0.0, INF, 0.0])
    np.testing.assert_array_equal(huber.forward(p, t, 2.0, "none"), [2.0, 2.0, 0.0, INF, INF, np.nan, np.nan])
    np.testing.assert_array_equal(huber.backward(p, t, 1.0, 2.0, "sum"), [2.0, -2.0, 0.0, 2.0, -2.0, np.nan, np.nan])
    np.testing.assert_array_equal(huber.forward(p, t, 2.0, "none", "smooth_l1"),
                                  [1.0, 1.0, 0.0, INF, INF, np.nan, np.nan])
    np.testing.assert_array_equal(huber.backward(p, t, 1.0, 2.0, "sum", "smooth_l1"),
                                  [1.0, -1.0, 0.0, 1.0, -1.0, np.nan, np.nan])


def test_smooth_l1_beta_zero_is_l1():
    p, t = np.array([-3.0, 0.0, 0.5, INF]), np.zeros(4)
    np.testing.assert_array_equal(huber.forward(p, t, 0.0, "none", "smooth_l1"), [3.0, 0.0, 0.5, INF])
    np.testing.assert_array_equal(huber.backward(p, t, 1.0, 0.0, "sum", "smooth_l1"), [-1.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"delta": 0.0}, ValueError, r"huber.forward: delta must be in \(0.0, inf\], got 0.0"),
    ({"delta": -1.0, "variant": "smooth_l1"}, ValueError, r"huber.forward: delta must be in \[0.0, inf\]"),
    ({"delta": INF}, ValueError, r"huber.forward: delta must be finite"),
    ({"delta": "1"}, TypeError, r"huber.forward: delta must be a real number"),
    ({"variant": "l1"}, ValueError, r"huber.forward: variant must be one of"),
])
def test_huber_rejects_bad_delta_and_variant(kwargs, error, match):
    with pytest.raises(error, match=match):
        huber.forward(np.ones(2), np.zeros(2), **kwargs)


# --- properties shared by the three losses ----------------------------------------------------------------------

ELEMENTWISE = [
    (mse, "prediction", regression_pairs(dtypes.FLOAT64)),
    (bce, "probability", probability_pairs(dtypes.FLOAT64)),
    (bce_logits, "logits", logit_pairs(dtypes.FLOAT64, allow_infinity=True)),
]
IDS = ["mean_squared_error", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


@pytest.mark.parametrize("module, first, pairs", ELEMENTWISE, ids=IDS)
@given(data=st.data())
def test_elementwise_loss_nonnegative(module, first, pairs, data):
    pair = data.draw(pairs)
    assert np.all(module.forward(pair[first], pair["target"], "none") >= 0)


@pytest.mark.parametrize("module, first, pairs", ELEMENTWISE, ids=IDS)
@given(data=st.data())
def test_elementwise_loss_mean_is_sum_over_element_count(module, first, pairs, data):
    pair = data.draw(pairs)
    x, t = pair[first], pair["target"]
    assert module.forward(x, t, "none").shape == x.shape
    np.testing.assert_array_equal(module.forward(x, t, "mean"), module.forward(x, t, "sum") / x.size)
    np.testing.assert_array_equal(
        module.backward(x, t, 1.0, "mean"), module.backward(x, t, 1 / x.size, "sum")
    )


@pytest.mark.parametrize("module, first, pairs", ELEMENTWISE, ids=IDS)
@given(data=st.data())
def test_elementwise_loss_inputs_not_mutated(module, first, pairs, data):
    pair = data.draw(pairs)
    x, t = pair[first], pair["target"]
    g = np.ones_like(x)
    copies = x.copy(), t.copy(), g.copy()
    module.forward(x, t, "none")
    module.backward(x, t, g, "none")
    for before, after in zip(copies, (x, t, g)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("module", [mse, bce, bce_logits], ids=IDS)
def test_elementwise_loss_float32_in_float32_out(module):
    x, t = np.array([0.25, 0.5], dtype=np.float32), np.array([0.0, 1.0], dtype=np.float32)
    assert module.forward(x, t).dtype == np.float32
    assert module.forward(x, t, "none").dtype == np.float32
    assert module.backward(x, t).dtype == np.float32  # the Python float grad_output does not widen
    assert module.backward(x, t, np.float64(1.0)).dtype == np.float64  # a float64 grad_output does


@pytest.mark.parametrize("module", [mse, bce, bce_logits], ids=IDS)
def test_elementwise_loss_empty_input(module):
    empty = np.zeros((0, 3))
    assert np.isnan(module.forward(empty, empty, "mean"))
    assert module.forward(empty, empty, "sum") == 0.0
    assert module.forward(empty, empty, "none").shape == (0, 3)
    assert module.backward(empty, empty, 1.0, "mean").shape == (0, 3)


# --- bad input --------------------------------------------------------------------------------------------------

_F, _P, _I = np.array([0.5, 0.25]), np.array([0.5]), np.array([1, 0])
_MSE, _BCE, _LOG = "mean_squared_error", "binary_cross_entropy", "binary_cross_entropy_with_logits"
BAD = [
    (mse.forward, (_F, _I), {}, TypeError, rf"{_MSE}.forward: target must be a real floating"),
    (mse.forward, (_I, _F), {}, TypeError, rf"{_MSE}.forward: prediction must be a real floating"),
    (mse.forward, (_F.astype(complex), _F), {}, TypeError, r"prediction must be a real floating"),
    (mse.forward, (np.array([True, False]), _F), {}, TypeError, r"prediction must be a real floating"),
    (mse.forward, (_F, _P), {}, ValueError, rf"{_MSE}.forward: target must have the same shape"),
    (mse.forward, (_F, _F), {"reduction": "avg"}, ValueError, r"reduction must be one of"),
    (mse.backward, (_F, _F, np.ones(2)), {}, ValueError, rf"{_MSE}.backward: grad_output must have"),
    (mse.backward, (_F, _F, 1.0, "none"), {}, ValueError, r"grad_output must have shape \(2\)"),
    (mse.backward, (_F, _F, 1), {}, TypeError, r"grad_output must be a real floating"),
    (bce.forward, (np.array([1.5]), _P), {}, ValueError, rf"{_BCE}.forward: probability must lie in"),
    (bce.forward, (np.array([-INF]), _P), {}, ValueError, r"probability must lie in \[0, 1\], got -inf"),
    (bce.backward, (_P, np.array([-0.5])), {}, ValueError, rf"{_BCE}.backward: target must lie"),
    (bce.forward, (_P, np.array([1])), {}, TypeError, rf"{_BCE}.forward: target must be a real"),
    (bce.forward, (_P, _P), {"log_floor": 1.0}, ValueError, r"log_floor must be in"),
    (bce.forward, (_P, _P), {"clip_probability": 0.0}, ValueError, r"clip_probability must be in"),
    (bce.backward, (_P, _P), {"denominator_floor": 0.0}, ValueError, r"denominator_floor must be in"),
    (bce_logits.forward, (_F, _P), {}, ValueError, rf"{_LOG}.forward: target must have the same shape"),
    (bce_logits.backward, (_P, np.array([2.0])), {}, ValueError, rf"{_LOG}.backward: target must lie in"),
    (bce_logits.forward, (_I, _F), {}, TypeError, rf"{_LOG}.forward: logits must be a real"),
]


@pytest.mark.parametrize("function, args, kwargs, error, match", BAD)
def test_elementwise_loss_rejects_bad_input(function, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(*args, **kwargs)
