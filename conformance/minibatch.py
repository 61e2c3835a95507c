"""Bounds of mini-batching (reference/minibatch.py): gradient accumulation over micro-batches, and how many
examples make "another seed gives another order" a check with a stated false-alarm rate.

Spec: docs/spec/minibatch.md
"""

from __future__ import annotations

from math import factorial

import numpy as np

from nnspec.conformance.errormodel import FALSE_ALARM_PER_CHECK, gamma
from nnspec.reference import dtypes

__all__ = ["accumulated_mean", "distinct_orders_min_examples"]


def accumulated_mean(full: np.ndarray, parts: list[np.ndarray], values: list[np.ndarray],
                     sizes: list[int]) -> np.ndarray:
    """|full-batch mean - sum_j (n_j / N) micro-batch mean_j|: each within its budget of the exact value, and
    the weighted sum taken in float64 by the check (gamma_{k+1} u64 relative to its terms)."""
    total = sum(sizes)
    weighted = sum(n / total * np.asarray(b, dtype=np.float64) for n, b in zip(sizes, parts))
    magnitude = sum(n / total * np.abs(np.asarray(v, dtype=np.float64)) for n, v in zip(sizes, values))
    return np.asarray(full, dtype=np.float64) + weighted + gamma(len(sizes) + 1,
                                                                  dtypes.FLOAT64.unit_roundoff) * magnitude


def distinct_orders_min_examples() -> int:
    """The fewest examples for which two independent uniform shuffles coincide with probability 1/n! at most
    FALSE_ALARM_PER_CHECK (so "different seeds give different orders" is a check with a stated false-alarm rate).

    Example:
        >>> distinct_orders_min_examples()
        10
    """
    n = 1
    while 1.0 / factorial(n) > FALSE_ALARM_PER_CHECK:
        n += 1
    return n
