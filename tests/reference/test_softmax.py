"""The reference's softmax and log-softmax against their SymPy/mpmath oracle, and their properties.

Spec: docs/spec/activations.md#softmax and #log-softmax. The oracle's VJPs come from the symbolic Jacobian, so
they check the closed forms y * (g - sum(g * y)) and g - softmax * sum(g) as well as the arithmetic. Budgets
are in units of u = 2**-53, from a running error analysis of the reference's formulas (see each helper).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.conformance.oracles import activations as oracle
from nnspec.reference.activations import log_softmax, softmax

U = 2.0**-53
LIBM = 4  # ulps of one call to numpy's exp or log
FLOOR = 2.0**-1021  # two smallest normals: below them float64 has no relative accuracy


@st.composite
def logit_matrices(draw: st.DrawFn, max_spread: float = 60.0, max_shift: float = 1e8) -> np.ndarray:
    """(rows, n) float64 logits, 1-3 rows of 1-6 entries: a per-row shift up to ``max_shift`` plus offsets
    within ``max_spread``, so rows test both the max shift (huge common values) and the spread (tiny y)."""
    rows, n = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    offsets = draw(hnp.arrays(np.float64, (rows, n), elements=st.floats(-max_spread, max_spread)))
    shifts = draw(hnp.arrays(np.float64, (rows, 1), elements=st.floats(-max_shift, max_shift)))
    return offsets + shifts


@st.composite
def exactly_shiftable(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Logits k / 1024 with |k| <= 2**23 and integer per-row shifts |c| <= 1e8: x + c and x - max(x) are then
    exact in float64, so the max shift must make the results identical, not merely close."""
    rows, n = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    k = draw(hnp.arrays(np.int64, (rows, n), elements=st.integers(-(2**23), 2**23)))
    c = draw(hnp.arrays(np.int64, (rows, 1), elements=st.integers(-(10**8), 10**8)))
    return k / 1024.0, c.astype(np.float64)


def _rows(x: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])


def _softmax_factor(x_row: np.ndarray, y_row: np.ndarray) -> np.ndarray:
    """F with |y_computed - y| <= F u y: d = x - max (its rounding carried by exp: |d| u), exp (LIBM), the sum
    of n terms (n - 1, plus each term's own error, sum y_j (|d_j| + LIBM)), the division (1)."""
    d = np.abs(x_row - x_row.max())
    return d + np.sum(y_row * (d + LIBM)) + len(x_row) + LIBM


def _log_softmax_bound(x_row: np.ndarray, y_row: np.ndarray) -> np.ndarray:
    """|y_computed - y| bound: d_i's rounding, the sum's relative error (an absolute error of its log), log's
    own error on log S = -y at the max, the final subtraction."""
    d = np.abs(x_row - x_row.max())
    p = np.exp(y_row)
    log_sum = -y_row[np.argmax(x_row)]
    return U * (d + np.sum(p * (d + LIBM)) + len(x_row) + LIBM * log_sum + np.abs(y_row))


def _assert_within(observed: np.ndarray, exact: np.ndarray, bound: np.ndarray) -> None:
    error = np.abs(observed - exact)
    note(f"observed {observed!r}\nexact    {exact!r}\nerror/bound {error / (bound + FLOOR)!r}")
    assert (error <= bound + U * np.abs(exact) + FLOOR).all()


@settings(max_examples=40, deadline=None)
@given(x=logit_matrices(), axis=st.sampled_from([0, -1]))
def test_softmax_forward_matches_oracle(x, axis):
    observed = _rows(softmax.forward(x, axis=axis), axis)
    for x_row, y_row in zip(_rows(x, axis), observed):
        exact = oracle.softmax_values(x_row)
        _assert_within(y_row, exact, U * exact * _softmax_factor(x_row, exact))


@settings(max_examples=40, deadline=None)
@given(x=logit_matrices(), axis=st.sampled_from([0, -1]))
def test_log_softmax_forward_matches_oracle(x, axis):
    observed = _rows(log_softmax.forward(x, axis=axis), axis)
    for x_row, y_row in zip(_rows(x, axis), observed):
        exact = oracle.log_softmax_values(x_row)
        _assert_within(y_row, exact, _log_softmax_bound(x_row, exact))


@settings(max_examples=40, deadline=None)
@given(x=logit_matrices(), data=st.data())
def test_softmax_backward_matches_oracle(x, data):
    g = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-1e3, 1e3)), label="grad_output")
    for x_row, g_row, observed in zip(x, g, softmax.backward(x, g)):
        exact, y = oracle.softmax_vjp(x_row, g_row), oracle.softmax_values(x_row)
        # grad_i = y_i (g_i - s), s = sum_j g_j y_j: y_i's error F_i, the subtraction and the product (2), and
        # s's error: each product g_j y_j (F_j + 1) and the sum of n terms (n - 1).
        factor = _softmax_factor(x_row, y)
        s = np.sum(g_row * y)
        bound = U * y * (np.abs(g_row - s) * (factor + 2) + np.sum(np.abs(g_row) * y * (factor + len(y))))
        _assert_within(observed, exact, bound)


@settings(max_examples=40, deadline=None)
@given(x=logit_matrices(), data=st.data())
def test_log_softmax_backward_matches_oracle(x, data):
    g = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-1e3, 1e3)), label="grad_output")
    for x_row, g_row, observed in zip(x, g, log_softmax.backward(x, g)):
        exact, y = oracle.log_softmax_vjp(x_row, g_row), oracle.log_softmax_values(x_row)
        # grad_i = g_i - p_i G, p = exp(y), G = sum g: p's error (y's bound / u + LIBM) relative, G's n - 1
        # roundings of sum |g|, the product, the subtraction.
        p, total = np.exp(y), np.sum(g_row)
        relative = _log_softmax_bound(x_row, y) / U + LIBM + 1
        bound = U * (p * np.abs(total) * relative + p * (len(y) - 1) * np.sum(np.abs(g_row)) + np.abs(exact))
        _assert_within(observed, exact, bound)


@given(x=logit_matrices(max_spread=1e4))
def test_softmax_rows_sum_to_one(x):
    # Each y_i is within F_i u y_i and sum_i y_i F_i <= (2 / e + 1) n + 2 LIBM + 1 (as t e^-t <= 1 / e); the
    # sum adds n - 1 roundings.
    n = x.shape[-1]
    assert (np.abs(softmax.forward(x).sum(axis=-1) - 1.0) <= (3 * n + 2 * LIBM + 2) * U).all()


@pytest.mark.parametrize("module", [softmax, log_softmax], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@given(case=exactly_shiftable())
def test_rowwise_invariant_to_a_shift_per_row(module, case):
    x, c = case
    np.testing.assert_array_equal(module.forward(x + c), module.forward(x))
    g = np.cos(x)  # any gradient
    np.testing.assert_array_equal(module.backward(x + c, g), module.backward(x, g))


@given(x=logit_matrices(max_spread=1e4))
def test_log_softmax_nonpositive_and_finite(x):
    y = log_softmax.forward(x)
    assert np.isfinite(y).all()
    assert (y <= 0).all()


def test_log_softmax_far_below_the_max_stays_finite():
    # pytorch/pytorch#94043: a float32 entry 320 below the max is -320.0, not -inf.
    assert log_softmax.forward(np.array([0.0, -320.0], dtype=np.float32))[1] == np.float32(-320.0)
    # pytorch/pytorch#11752: equal huge logits give log 1/2 each.
    assert (log_softmax.forward(np.array([1e8, 1e8])) == -np.log(2.0)).all()


def test_softmax_minus_inf_entries_get_zero():
    x = np.array([0.0, -np.inf, np.log(3.0)])
    np.testing.assert_array_equal(softmax.forward(x), [0.25, 0.0, 0.75])
    assert softmax.backward(x, np.array([1.0, 5.0, 2.0]))[1] == 0.0
    assert log_softmax.forward(x)[1] == -np.inf
    assert log_softmax.backward(x, np.array([1.0, 5.0, 2.0]))[1] == 5.0  # d y_1 / d x_1 = 1 - p_1 = 1


def test_softmax_row_of_only_minus_inf_is_zero():
    # pytorch/pytorch#31829, jax-ml/jax#6811: no mass, and a zero gradient rather than NaN.
    x = np.array([[-np.inf, -np.inf], [0.0, 0.0]])
    g = np.array([[1.0, 3.0], [1.0, 3.0]])
    np.testing.assert_array_equal(softmax.forward(x), [[0.0, 0.0], [0.5, 0.5]])
    np.testing.assert_array_equal(softmax.backward(x, g), [[0.0, 0.0], [-0.5, 0.5]])
    np.testing.assert_array_equal(log_softmax.forward(x)[0], [-np.inf, -np.inf])
    np.testing.assert_array_equal(log_softmax.backward(x, g)[0], g[0])  # g - 0 * sum(g)


def test_softmax_single_plus_inf_entry_is_one_hot():
    x = np.array([1.0, np.inf, -np.inf])
    g = np.array([1.0, 3.0, 5.0])
    np.testing.assert_array_equal(softmax.forward(x), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(softmax.backward(x, g), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(log_softmax.forward(x), [-np.inf, 0.0, -np.inf])
    np.testing.assert_array_equal(log_softmax.backward(x, g), [1.0, 3.0 - 9.0, 5.0])


def test_softmax_plus_inf_entries_share_the_mass():
    x = np.array([np.inf, 0.0, np.inf])
    np.testing.assert_array_equal(softmax.forward(x), [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(log_softmax.forward(x), [-np.log(2.0), -np.inf, -np.log(2.0)])


@pytest.mark.parametrize("module", [softmax, log_softmax], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_rowwise_nan_fills_its_row_only(module):
    x = np.array([[np.nan, 1.0], [1.0, 2.0]])
    y = module.forward(x)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    grad = module.backward(x, np.ones_like(x))
    assert np.isnan(grad[0]).all() and np.isfinite(grad[1]).all()
