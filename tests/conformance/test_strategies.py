"""The input strategies' contract (conformance/strategies/arrays.py): values in range and exact in the dtype, a
background that reaches every binade and the range's edges, and failures that shrink to the values that cause them.

What the arrays are for is finding bugs; the planted-bug tests (test_planted_bugs.py and the other *_bugs.py)
show that they do. These tests pin the properties those rely on.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, Phase, find, given, settings

from nnspec.conformance.strategies.arrays import float_arrays, integer_arrays, shapes
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


def test_a_failure_shrinks_to_the_smallest_array_that_holds_its_cause():
    """An entry's background value depends on its seed and position only, so shrinking the shape keeps it: the
    minimal array with a value above 10 is (about) the shortest row-major prefix that holds one, which is its last
    entry, and likewise for two values above 3."""
    minimal = find(float_arrays(FLOAT32, shapes(), min_value=-30.0, max_value=30.0), lambda a: (a > 10).any(),
                   settings=settings(database=None, derandomize=True))
    flat = minimal.ravel()
    assert flat[-1] > 10 and not (flat[:-1] > 10).any() and flat.size <= 5
    pair = find(float_arrays(FLOAT32, shapes(), min_value=-4.0, max_value=4.0), lambda a: (a > 3).sum() >= 2,
                settings=settings(database=None, derandomize=True))
    assert pair.ravel()[-1] > 3 and (pair > 3).sum() == 2


def test_few_arrays_are_plain():
    """Hypothesis generates the simplest choice (0) for a large share of draws; no choice value may turn the
    background plain, or a third of the examples would check (almost) nothing."""
    arrays = drawn(float_arrays(FLOAT32, (5, 5, 5), min_value=-30.0, max_value=30.0), 200)
    distinct = [len(np.unique(a)) for a in arrays]
    assert np.mean(np.array(distinct) >= 50) > 0.95


def test_integer_arrays_cover_their_range():
    arrays = drawn(integer_arrays((5,), min_value=-2, max_value=3), 60)
    values = np.concatenate(arrays)
    assert set(values.tolist()) == {-2, -1, 0, 1, 2, 3}
    assert all(a.shape == (5,) and a.dtype.kind == "i" for a in arrays)


def test_shapes_reach_every_rank_and_shrink_to_the_smallest():
    drawn_shapes = drawn(shapes(), 200)
    assert {len(s) for s in drawn_shapes} == {1, 2, 3}
    assert all(1 <= side <= 5 for s in drawn_shapes for side in s)
    assert max(math.prod(s) for s in drawn_shapes) >= 64
    assert find(shapes(), lambda s: True) == (1,)
    assert find(shapes(min_dims=2, max_side=3), lambda s: math.prod(s) >= 6) in {(2, 3), (3, 2)}



def test_every_strategy_factory_is_cached():
    """One strategy object per arguments (conformance/strategies/__init__.py): an uncached factory called per
    example builds a strategy Hypothesis validates again at every draw. Every public factory of the strategies
    package, and the rooms' own (``hyperparameters``, ``inputs``, ``clipping_cases``), keeps a cache."""
    import importlib
    import pkgutil

    from nnspec.conformance import budgets, gradient_clipping
    from nnspec.conformance import strategies as package
    from nnspec.reference import catalogue

    not_factories = {"special_points", "discriminating_cases"}  # return arrays and cases, not strategies
    factories = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if callable(value) and not hasattr(value, "do_draw") and name not in not_factories:
                factories[f"strategies.{info.name}.{name}"] = value
    rooms = [budgets.room(p.name) for p in catalogue.PRIMITIVES]
    rooms += [budgets.optimizer_room(name) for name in catalogue.optimizers()]
    for room in [*rooms, gradient_clipping]:
        for name in ("hyperparameters", "inputs", "clipping_cases"):
            if callable(getattr(room, name, None)):
                factories[f"{room.__name__}.{name}"] = getattr(room, name)
    assert len(factories) > 40, sorted(factories)
    uncached = sorted(name for name, factory in factories.items() if not hasattr(factory, "cache_info"))
    assert not uncached, f"strategy factories without a cache: {uncached}"
