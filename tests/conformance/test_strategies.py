"""The input strategies' contract (conformance/strategies/arrays.py): values in range and exact in the dtype, a
background that reaches every binade and the range's edges, and failures that shrink to the values that cause them.

What the arrays are for is finding bugs; the planted-bug tests (test_planted_bugs.py and the other *_bugs.py)
show that they do. These tests pin the properties those rely on.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, Phase, find, given, settings

from nnspec.conformance.strategies.arrays import EXPLICIT, float_arrays, integer_arrays, shapes
from nnspec.reference import dtypes

FLOAT32 = dtypes.get("float32")


def drawn(strategy, count: int = 300) -> list:
    """``count`` values of ``strategy``, the same ones every run (derandomized, no shrinking)."""
    values = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value):
        values.append(value)

    collect()
    return values


def test_float_arrays_are_in_range_exact_in_the_dtype_and_never_subnormal():
    for fmt, low, high in [(FLOAT32, -30.0, 30.0), (dtypes.get("float16"), 0.0, 1.0),
                           (dtypes.get("bfloat16"), -FLOAT32.max / 4, -1.0), (dtypes.FLOAT64, 0.125, 4.0)]:
        for array in drawn(float_arrays(fmt, shapes(), min_value=low, max_value=high), 100):
            assert np.all((array >= low) & (array <= high)), (fmt.name, low, high, array)
            np.testing.assert_array_equal(fmt.round(array), array)
            assert not np.any((array != 0) & (np.abs(array) < fmt.tiny))


def test_float_arrays_keep_the_shape_they_are_given():
    for shape in [(1,), (4, 64), (2, 3, 5)]:
        assert {a.shape for a in drawn(float_arrays(FLOAT32, shape, min_value=-1.0, max_value=1.0), 20)} == {shape}


def test_the_background_reaches_every_binade_and_both_edges():
    """Over the whole float32 range, the drawn magnitudes cover (almost) every binade from the smallest normal
    to the largest finite value, and the range's ends are drawn too: where overflow and underflow bugs live.
    (Hypothesis' own floats, clamped to a range this wide, are almost all near its ends.)"""
    bound = FLOAT32.max / 4
    values = np.concatenate([a.ravel() for a in drawn(float_arrays(FLOAT32, shapes(), min_value=-bound,
                                                                   max_value=bound))])
    exponents = set(np.frexp(values[values != 0])[1].tolist())
    normal_binades = set(range(FLOAT32.min_exponent + 1, FLOAT32.max_exponent - 1))
    assert len(exponents & normal_binades) >= 0.75 * len(normal_binades)
    assert {bound, -bound, 0.0} <= set(values.tolist())
    assert (values < 0).any() and (values > 0).any()


def test_a_failure_caused_by_one_value_shrinks_to_that_value_alone():
    """Seed 0 is a plain background: the minimal array that holds a value above 10 holds nothing else."""
    minimal = find(float_arrays(FLOAT32, (3, 4), min_value=-30.0, max_value=30.0), lambda a: (a > 10).any(),
                   settings=settings(database=None, derandomize=True))
    assert np.count_nonzero(minimal) == 1 and minimal.max() > 10


def test_at_most_explicit_values_are_hypothesis_choices():
    """The cost of an array does not grow with its size: the shrunk array of 384 entries, where only entries
    above 3 matter, has at most ``EXPLICIT`` of them (the rest is the background)."""
    minimal = find(float_arrays(FLOAT32, (64, 6), min_value=-4.0, max_value=4.0), lambda a: (a > 3).sum() >= 2,
                   settings=settings(database=None, derandomize=True))
    assert 2 <= (minimal > 3).sum() <= EXPLICIT


def test_integer_arrays_cover_their_range_and_shrink_to_the_lowest():
    arrays = drawn(integer_arrays((5,), min_value=-2, max_value=3), 60)
    values = np.concatenate(arrays)
    assert set(values.tolist()) == {-2, -1, 0, 1, 2, 3}
    assert all(a.shape == (5,) and a.dtype.kind == "i" for a in arrays)
    assert find(integer_arrays((5,), min_value=-2, max_value=3), lambda a: True).tolist() == [-2] * 5


def test_shapes_reach_every_rank_and_shrink_to_the_smallest():
    drawn_shapes = drawn(shapes(), 200)
    assert {len(s) for s in drawn_shapes} == {1, 2, 3}
    assert all(1 <= side <= 5 for s in drawn_shapes for side in s)
    assert max(math.prod(s) for s in drawn_shapes) >= 64
    assert find(shapes(), lambda s: True) == (1,)
    assert find(shapes(min_dims=2, max_side=3), lambda s: math.prod(s) >= 6) in {(2, 3), (3, 2)}

