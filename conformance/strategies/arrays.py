"""Float arrays that are exact in a given dtype, and small shapes: a constant number of Hypothesis choices each.

Hypothesis draws every choice through its engine (recorded, mutated, shrunk): about 0.1 ms per float, so an
array drawn element by element costs milliseconds, most of a check's time (docs/benchmarks.md#per-example-cost).
Here an array is a few **explicit** Hypothesis floats (Hypothesis' boundary values and the literal constants of
the loaded modules, which are where special cases live) in its first entries, and a **background** filled by a
numpy generator seeded by one Hypothesis integer. The background mixes what Hypothesis' own float draws mix
(values spread evenly over the range, magnitudes spread over every binade of the dtype, small integers, simple
constants, the range's edges), each entry independently, and an entry's value depends on its seed and position
only, not on the array's shape: a failure shrinks to the smallest shape that still holds the entry causing it.
(Hypothesis generates the simplest choice, 0, for a large share of its draws, so no choice value means "plain
background": that would waste a third of the examples.)

Against Hypothesis' own floats, clamped to a wide range, the background reaches far more binades: over the
whole float32 range, 300 draws reach 227 of its 251 normal binades with 2.4 % of the entries 0, where
element-by-element draws reached 47 with 59 % zeros (tests/conformance/test_strategies.py pins the coverage).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from hypothesis import strategies as st

from nnspec.reference import dtypes

__all__ = ["shapes", "float_arrays", "integer_arrays", "magnitudes", "EXPLICIT"]

#: At most this many entries of an array are Hypothesis floats; the rest is the seeded background.
EXPLICIT = 3

#: Background mixture, in twentieths: evenly spread over the range, magnitudes spread over the binades, small
#: integers, simple constants, the range's edges (Hypothesis' own draws: 15 % constants, 5 % edges, the rest
#: spread over values and binades). Values of ordinary size outnumber the binades' tiny ones two to one: a wrong
#: factor (a divisor, a weight) shows only where the values are not near the underflow floor.
_MIXTURE = np.cumsum([8, 4, 2, 4, 2])
_SIMPLE = (0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 100.0, 1e6, 1e-6, 0.1, 1 / 3, 2.0 ** -10, 2.0 ** 24)


#: The seed of a background: one Hypothesis choice.
_SEEDS = st.integers(0, 2 ** 32 - 1)
#: Background entries are drawn in blocks of this many: an entry's value depends on its position, not the size.
_BLOCK = 128


@functools.cache
def shapes(*, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy:
    """Small array shapes, one choice among all of them (as Hypothesis' own array_shapes draws them, mostly of the
    highest rank: about 23 entries on average), smallest first: the shrink target."""
    sides = range(min_side, max_side + 1)
    table = [shape for rank in range(min_dims, max_dims + 1) for shape in itertools.product(sides, repeat=rank)]
    return st.sampled_from(sorted(table, key=lambda shape: (math.prod(shape), len(shape), shape)))


@functools.cache
def magnitudes(fmt: dtypes.Format) -> st.SearchStrategy[float]:
    """A bound on |x| for an array: mostly moderate, sometimes near the edge of the format's range.

    Drawing the bound first (instead of filtering values) keeps shrinking effective: a failure shrinks
    towards the smallest bound that still fails.
    """
    return st.sampled_from([1.0, 4.0, 30.0, 1e3, fmt.max / 4])


@functools.cache
def _explicit(min_value: float, max_value: float, allow_infinity: bool, count: int) -> st.SearchStrategy:
    """Up to ``count`` Hypothesis floats in the range (built once per range: building costs ~0.1 ms)."""
    elements = st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False)
    if allow_infinity:
        elements = st.one_of(elements, st.sampled_from([math.inf, -math.inf]))
    return st.lists(elements, max_size=count)


def _background(rng: np.random.Generator, fmt: dtypes.Format, size: int, low: float, high: float) -> np.ndarray:
    """``size`` values in [low, high], each drawn from the mixture ``_MIXTURE`` describes."""
    kind = np.searchsorted(_MIXTURE, rng.integers(0, 20, size), side="right")
    even = rng.uniform(low, high, size)
    negative = rng.random(size) < 0.5
    if low >= 0.0 or high <= 0.0:
        negative[:] = high <= 0.0
    top = np.where(negative, -low, high)  # the largest magnitude on each entry's side
    bottom = np.maximum(fmt.tiny, np.where(negative, max(-high, 0.0), max(low, 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.exp2(rng.uniform(np.log2(bottom), np.log2(np.maximum(top, bottom))))
    binades = np.where(negative, -spread, spread)
    integers = rng.integers(-16, 17, size).astype(np.float64)
    simple = np.array(_SIMPLE)[rng.integers(0, len(_SIMPLE), size)] * np.where(negative, -1.0, 1.0)
    edges = np.array([low, high, low + 1.0, high - 1.0, 0.0])[rng.integers(0, 5, size)]
    values = np.choose(kind, [even, binades, integers, simple, edges])
    return np.clip(values, low, high)


def _inward(fmt: dtypes.Format, low: float, high: float) -> tuple[float, float]:
    """The smallest value of ``fmt`` at or above ``low`` and the largest at or below ``high``: rounding an entry
    into the dtype must not carry it out of its range (e.g. a bound of max/4 of float32 is not a bfloat16)."""
    def down(x: float) -> float:  # the largest value with fmt's precision at or below x
        mantissa, exponent = math.frexp(x)
        return math.ldexp(math.floor(mantissa * 2.0 ** fmt.precision) / 2.0 ** fmt.precision, exponent)
    return max(-down(-low), -fmt.max), min(down(high), fmt.max)


@functools.lru_cache(maxsize=4096)
@st.composite
def float_arrays(draw, fmt: dtypes.Format, shape, *, min_value: float, max_value: float,
                 allow_infinity: bool = False) -> np.ndarray:
    """Arrays of ``shape`` (a tuple or a strategy) with values in [min_value, max_value], exact in ``fmt``.

    Up to ``EXPLICIT`` Hypothesis floats first, then the seeded background (the module docstring). Values are
    rounded to the format and kept in the range; magnitudes below the smallest normal become 0 (no subnormal
    inputs). ``allow_infinity`` lets the explicit values be +-inf.
    """
    if not isinstance(shape, tuple):
        shape = draw(shape)
    size = math.prod(shape)
    explicit = draw(_explicit(float(min_value), float(max_value), allow_infinity, min(size, EXPLICIT)))
    rng = np.random.default_rng(draw(_SEEDS))
    values = _background(rng, fmt, -(-size // _BLOCK) * _BLOCK, min_value, max_value)[:size]
    values[:len(explicit)] = explicit
    low, high = _inward(fmt, min_value, max_value)
    finite = np.isfinite(values)
    values[finite] = np.clip(fmt.round(values[finite]), low, high)
    return np.where(np.abs(values) < fmt.tiny, 0.0, values).reshape(shape)


@functools.lru_cache(maxsize=4096)
@st.composite
def integer_arrays(draw, shape, *, min_value: int, max_value: int) -> np.ndarray:
    """Integer arrays of ``shape`` (a tuple) with values in [min_value, max_value], uniform, from one seed (an
    entry's value depends on its seed and position only). Labels, masks (0/1) and sign patterns."""
    size = math.prod(shape)
    values = np.random.default_rng(draw(_SEEDS)).integers(min_value, max_value + 1, -(-size // _BLOCK) * _BLOCK)
    return values[:size].reshape(shape)
