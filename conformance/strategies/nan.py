"""NaN at drawn positions: inputs that check NaN propagation (docs/spec/conventions.md#nan-and-inf).

Each strategy takes an existing input strategy and writes NaN into a few drawn entries of the named arrays; every
other entry keeps its dtype-exact value, so the rest of the output is still held to its error budget. The count
and the positions are separate draws: a failure shrinks towards one NaN at the first entry.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

__all__ = ["nan_positions", "with_nans", "with_nans_in"]


@functools.cache
@st.composite
def nan_positions(draw, size: int, *, min_count: int = 1, max_count: int = 2) -> list[int]:
    """Distinct flat indices into an array of ``size`` entries: ``min_count`` to ``max_count`` of them (fewer
    when the array is smaller); none for an empty array."""
    if size == 0:
        return []
    count = draw(st.integers(min(min_count, size), min(max_count, size)), label="NaN count")
    return draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count, unique=True),
                label="NaN positions")


@functools.cache
@st.composite
def with_nans(draw, arrays: st.SearchStrategy[np.ndarray], *, min_count: int = 1,
              max_count: int = 2) -> np.ndarray:
    """An array drawn from ``arrays`` with NaN written at ``min_count`` to ``max_count`` drawn positions (a copy:
    the drawn array is not modified)."""
    array = np.array(draw(arrays), dtype=np.float64)
    array.flat[draw(nan_positions(array.size, min_count=min_count, max_count=max_count))] = np.nan
    return array


@functools.cache
@st.composite
def with_nans_in(draw, problems: st.SearchStrategy[dict], names: Sequence[str], *,
                 max_count: int = 2) -> dict[str, np.ndarray]:
    """A problem (a dict of arrays) drawn from ``problems``, with NaN at drawn positions of one of ``names``
    (drawn too) and at least one NaN in all: the arrays a NaN may enter through (a layer's x, weight or
    bias; a loss's prediction or logits)."""
    problem = dict(draw(problems))
    present = [name for name in names if problem.get(name) is not None and np.asarray(problem[name]).size > 0]
    if not present:
        return problem
    name = draw(st.sampled_from(present), label="NaN in")
    problem[name] = draw(with_nans(st.just(np.asarray(problem[name])), max_count=max_count), label=f"{name} with NaN")
    return problem
