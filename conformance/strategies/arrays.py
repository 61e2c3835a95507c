"""Float arrays that are exact in a given dtype, and small shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.reference import dtypes

__all__ = ["shapes", "float_arrays", "magnitudes"]


def shapes(*, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy:
    """Small array shapes: Hypothesis examples cost far more than the primitives they check."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def magnitudes(fmt: dtypes.Format) -> st.SearchStrategy[float]:
    """A bound on |x| for an array: mostly moderate, sometimes near the edge of the format's range.

    Drawing the bound first (instead of filtering values) keeps shrinking effective: a failure shrinks
    towards the smallest bound that still fails.
    """
    return st.sampled_from([1.0, 4.0, 30.0, 1e3, fmt.max / 4])


def float_arrays(fmt: dtypes.Format, shape, *, min_value: float, max_value: float,
                 allow_infinity: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` (a tuple or a strategy) with values in [min_value, max_value], exact in ``fmt``.

    Values are drawn as float64 and rounded to the format, then clipped back into the range.
    """
    elements = st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False)
    if allow_infinity:
        elements = st.one_of(elements, st.sampled_from([np.inf, -np.inf]))

    def exact(array: np.ndarray) -> np.ndarray:
        rounded = fmt.round(array)
        finite = np.isfinite(array)
        rounded = np.where(finite, np.clip(rounded, -fmt.max, fmt.max), array)
        return np.where(np.abs(rounded) < fmt.tiny, 0.0, rounded)  # keep inputs normal: no subnormal inputs

    return hnp.arrays(np.float64, shape, elements=elements).map(exact)
