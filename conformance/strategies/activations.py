"""Inputs for activations: elementwise arrays, softmax rows with large shifts and spreads, and gradients."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.strategies.arrays import float_arrays, magnitudes, shapes
from nnspec.reference import dtypes

__all__ = ["activation_inputs", "grad_outputs", "rows", "special_points"]


@functools.cache
@st.composite
def activation_inputs(draw, fmt: dtypes.Format) -> np.ndarray:
    """An array of any small shape whose values lie within a drawn bound, from 1 up to a quarter of the dtype's
    largest finite value: saturated and overflowing regimes are where stable forms matter."""
    bound = draw(magnitudes(fmt))
    return draw(float_arrays(fmt, shapes(), min_value=-bound, max_value=bound))


@functools.cache
def grad_outputs(fmt: dtypes.Format, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Upstream gradients of moderate size and either sign."""
    return float_arrays(fmt, shape, min_value=-8.0, max_value=8.0)


@functools.cache
@st.composite
def rows(draw, fmt: dtypes.Format, *, max_rows: int = 4, max_classes: int = 6) -> np.ndarray:
    """A (rows, classes) array: each row is shift + spread * t with t in [-1, 1].

    Shifts up to 1e8 (1e4 in float16) and spreads up to 1e4 are the regime in which a softmax without its max
    shift overflows and an unstable log-softmax returns -inf (REAL_BUGS.md: pytorch#94043, #11752).
    """
    top = fmt.max
    shape = (draw(st.integers(1, max_rows)), draw(st.integers(1, max_classes)))
    shift = draw(st.sampled_from(tuple(s for s in (0.0, 1e4, -1e4, 1e8, -1e8) if abs(s) < top / 4)))
    spread = draw(st.sampled_from(tuple(s for s in (1.0, 30.0, 1e4) if s < top / 4)))
    t = draw(float_arrays(dtypes.FLOAT64, shape, min_value=-1.0, max_value=1.0))
    return fmt.round(shift + spread * t)


def special_points(fmt: dtypes.Format) -> np.ndarray:
    """Points every elementwise activation is checked at: zero, tiny and huge values of both signs, and
    the infinities, all exact in ``fmt``."""
    values = [0.0, fmt.tiny, -fmt.tiny, 1.0, -1.0, 20.0, -20.0, 100.0, -100.0, fmt.max, -fmt.max, np.inf, -np.inf]
    return fmt.round(np.array(values))
