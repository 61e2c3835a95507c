"""Self-tests of reference/dropout.py (docs/spec/dropout.md).

Oracles: hand-computed values with dyadic scales (p = 0.5, 0.75: the scales 2 and 4 make every product exact),
the adjoint identity <forward(x), g> = <x, backward(g)> of a linear map (exact for power-of-two scales), and
the binomial acceptance interval of nnspec.conformance.dropout for the mask's keep rate.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import dropout as dropout_room
from nnspec.conformance import errormodel
from nnspec.conformance.strategies.arrays import float_arrays, shapes
from nnspec.reference import dropout, dtypes

INF, NAN = np.inf, np.nan


def test_forward_scales_kept_and_zeroes_dropped():
    x = np.array([1.0, -3.0, 5.0, 0.5])
    mask = np.array([True, False, True, True])
    assert dropout.forward(x, 0.75, mask).tolist() == [4.0, 0.0, 20.0, 2.0]


def test_backward_applies_the_forward_mask_and_scale():
    mask = np.array([[True, False], [False, True]])
    assert dropout.backward(np.array([[1.0, 2.0], [3.0, -4.0]]), 0.5, mask).tolist() == [[2.0, 0.0], [0.0, -8.0]]


def test_eval_mode_and_p_zero_are_the_identity_also_for_inf_and_nan():
    x = np.array([INF, -INF, NAN, 2.0])
    np.testing.assert_array_equal(dropout.forward(x, 1.0, None, training=False), x)
    np.testing.assert_array_equal(dropout.forward(x, 0.0, np.ones(4, dtype=bool)), x)
    np.testing.assert_array_equal(dropout.backward(x, 0.3, None, training=False), x)


def test_p_one_gives_zeros_and_the_torch_variant_gives_nan_for_non_finite():
    x = np.array([INF, -INF, NAN, 2.0, -1.0])
    assert dropout.forward(x, 1.0, None).tolist() == [0.0] * 5
    variant = dropout.forward(x, 1.0, None, dropped_value="x_times_zero")
    assert np.isnan(variant[:3]).all() and variant[3:].tolist() == [0.0, 0.0]


def test_dropped_infinity_is_zero_and_kept_infinity_stays_infinite():
    x = np.array([INF, INF, NAN, NAN])
    mask = np.array([True, False, True, False])
    y = dropout.forward(x, 0.5, mask)
    assert y[0] == INF and y[1] == 0.0 and np.isnan(y[2]) and y[3] == 0.0


@given(x=float_arrays(dtypes.FLOAT64, shapes(), min_value=-8.0, max_value=8.0), data=st.data(),
       p=st.sampled_from([0.5, 0.75, 0.875]))
def test_backward_is_the_adjoint_of_forward(x, data, p):
    mask = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).random(x.shape) >= p
    g = data.draw(float_arrays(dtypes.FLOAT64, x.shape, min_value=-8.0, max_value=8.0), label="g")
    assert np.sum(dropout.forward(x, p, mask) * g) == np.sum(x * dropout.backward(g, p, mask))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_sample_mask_keep_rate_is_within_the_binomial_interval(p):
    n = 100_000
    lo, hi = dropout_room.binomial_interval(n, 1.0 - p)
    kept = int(dropout.sample_mask((n,), p, np.random.default_rng(12345)).sum())
    assert lo <= kept <= hi


def test_sample_mask_is_reproducible_and_covers_the_edges():
    first = dropout.sample_mask((50,), 0.3, np.random.default_rng(7))
    np.testing.assert_array_equal(first, dropout.sample_mask((50,), 0.3, np.random.default_rng(7)))
    assert dropout.sample_mask((9,), 1.0, np.random.default_rng(0)).sum() == 0
    assert dropout.sample_mask((9,), 0.0, np.random.default_rng(0)).all()


def test_dtype_is_preserved():
    x = np.array([1.0, 2.0], dtype=np.float32)
    assert dropout.forward(x, 0.5, np.array([True, False])).dtype == np.float32


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: dropout.forward(np.ones(2), 1.5, None), ValueError,
     r"dropout\.forward: p must be in \[0\.0, 1\.0\], got 1\.5"),
    (lambda: dropout.forward(np.ones(2), 0.5, None), ValueError, r"dropout\.forward: mask is required"),
    (lambda: dropout.forward(np.ones(2), 0.5, np.ones(2)), TypeError, r"dropout\.forward: mask must be a bool array"),
    (lambda: dropout.forward(np.ones(2), 0.5, np.ones(3, dtype=bool)), ValueError, r"mask must have the same shape"),
    (lambda: dropout.forward(np.ones(2), 1.0, np.ones(2, dtype=bool)), ValueError, r"mask must keep nothing"),
    (lambda: dropout.forward(np.ones(2), 0.5, np.ones(2, dtype=bool), training=1), TypeError,
     r"training must be a bool"),
    (lambda: dropout.forward(np.ones(2), 0.5, None, dropped_value="nan"), ValueError, r"dropped_value must be one of"),
    (lambda: dropout.sample_mask((2,), 0.5, 3), TypeError, r"rng must be a numpy\.random\.Generator"),
    (lambda: dropout.forward(np.array([1, 2]), 0.5, None), TypeError, r"x must be a real floating-point array"),
])
def test_invalid_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("n", "q"), [(100, 0.5), (400, 0.05), (1000, 0.9), (5000, 0.3)])
def test_binomial_acceptance_interval_is_exact(n, q):
    """The interval of the keep-rate checks against binomial tails summed with mpmath at 30 digits: each tail
    outside [lo, hi] holds at most alpha/2, and widening it by one count would break that on that side."""
    import mpmath

    mpmath.mp.dps = 30
    alpha = errormodel.FALSE_ALARM_PER_CHECK
    pmf = [mpmath.binomial(n, k) * mpmath.mpf(q) ** k * (1 - mpmath.mpf(q)) ** (n - k) for k in range(n + 1)]
    lo, hi = dropout_room.binomial_interval(n, q)
    assert sum(pmf[:lo]) <= alpha / 2 < sum(pmf[:lo + 1])
    assert sum(pmf[hi + 1:]) <= alpha / 2 < sum(pmf[hi:])
