"""Bounds of dropout (reference/dropout.py): the rounding of a kept element, and the statistics that judge a
random mask (docs/spec/error-budgets.md#statistical-checks): binomial acceptance intervals for counts of kept
elements and Hoeffding's bound for the mean, each failing a correct backend with probability at most
``errormodel.FALSE_ALARM_PER_CHECK``.

Spec: docs/spec/error-budgets.md#statistical-checks
"""

from __future__ import annotations

from math import ceil, floor, lgamma, log, log1p, sqrt

import numpy as np

from nnspec.conformance.comparison import Comparison, compare
from nnspec.conformance.errormodel import FALSE_ALARM_PER_CHECK, UNDERFLOW_FLOOR, gamma
from nnspec.reference import dtypes

__all__ = ["scale_budget", "mean_budget", "binomial_interval", "binomial", "binomial_in_family"]


def scale_budget(values: np.ndarray, p: float, fmt: dtypes.Format) -> np.ndarray:
    """Budget of a kept element y = x / (1 - p) (or a gradient g / (1 - p)).

    The dtype result may come as x * fl(1 / fl(1 - p)) (PyTorch: a mask divided by 1 - p, then a product):
    1 - p computed in float64 then rounded to the dtype (u64 + u), the reciprocal (u), the product (u): 3u + u64
    relative to |y|; a division x / fl(1 - p) takes fewer. The float64 reference adds 2 u64.
    """
    scale = 1.0 / (1.0 - p)
    magnitude = np.abs(np.where(np.isfinite(values), values, 0.0)) * scale
    u, u64 = fmt.unit_roundoff, dtypes.FLOAT64.unit_roundoff
    return (3 * u + 3 * u64) * magnitude + UNDERFLOW_FLOOR * fmt.tiny


def mean_budget(x: np.ndarray, p: float, fmt: dtypes.Format) -> float:
    """Budget of |mean(dropout(x)) - mean(x)| over n independent elements (the mean is preserved).

    Hoeffding's inequality: y_i = x_i B_i / (1 - p) with B_i ~ Bernoulli(1 - p) lies in an interval of length
    |x_i| / (1 - p), so P(|sum y - sum x| >= t) <= 2 exp(-2 t^2 / sum (x_i / (1 - p))^2) = FALSE_ALARM_PER_CHECK
    at t = sqrt(log(2 / alpha) / 2 * sum x_i^2) / (1 - p). Plus each element's rounding (``scale_budget``)
    and the float64 sums of the check itself (gamma_n u64 of sum |y| + sum |x|).
    """
    x = np.asarray(x, dtype=np.float64)
    n, scale = x.size, 1.0 / (1.0 - p)
    deviation = np.sqrt(np.log(2 / FALSE_ALARM_PER_CHECK) / 2 * np.sum(x * x)) * scale
    rounding = np.sum(scale_budget(x, p, fmt)) + gamma(n, dtypes.FLOAT64.unit_roundoff) * (
        1 + scale) * np.sum(np.abs(x))
    return float((deviation + rounding) / n)


def _binomial_log_pmf(n: int, q: float, ks: np.ndarray) -> np.ndarray:
    log_choose = np.array([lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) for k in ks.tolist()])
    return log_choose + ks * log(q) + (n - ks) * log1p(-q)


def binomial_interval(n: int, q: float, alpha: float = FALSE_ALARM_PER_CHECK) -> tuple[int, int]:
    """The acceptance interval [lo, hi] of a Binomial(n, q) count: P(K < lo) <= alpha/2 and P(K > hi) <= alpha/2.

    Exact tails, summed from the pmf over a window of 12 standard deviations + 60 around n q; by Bernstein's
    inequality the mass outside it is below 1e-30, negligible next to alpha.

    Example:
        >>> binomial_interval(100, 0.5)
        (26, 74)
    """
    if q <= 0.0 or q >= 1.0:
        return (0, 0) if q <= 0.0 else (n, n)
    width = ceil(12 * sqrt(n * q * (1 - q)) + 60)
    ks = np.arange(max(0, floor(n * q) - width), min(n, ceil(n * q) + width) + 1)
    pmf = np.exp(_binomial_log_pmf(n, q, ks))
    below = np.cumsum(pmf)                   # P(K <= k) within the window
    above = np.cumsum(pmf[::-1])[::-1]       # P(K >= k)
    lo = int(ks[np.argmax(below > alpha / 2)])
    hi = int(ks[len(ks) - 1 - np.argmax(above[::-1] > alpha / 2)])
    return lo, hi


def binomial(count: int, n: int, q: float) -> Comparison:
    """Judge a count of successes in n independent trials of probability q: outside the acceptance interval
    of ``binomial_interval`` the ratio exceeds 1 (the budget is the distance from n q to the interval's end)."""
    lo, hi = binomial_interval(n, q)
    mean = n * q
    budget = max(mean - lo, 0.0) if count < mean else max(hi - mean, 0.0)
    return compare(np.asarray(float(count)), np.asarray(mean), np.asarray(budget))


def binomial_in_family(count: int, n: int, q: float, family: int) -> Comparison:
    """``binomial`` for one of ``family`` counts judged together as ONE check (Bonferroni): each count's interval
    is at level FALSE_ALARM_PER_CHECK / family, so by the union bound the family fails a correct backend with
    probability at most FALSE_ALARM_PER_CHECK, however its counts depend on each other (the pairs of calls of one
    dropout stream share calls)."""
    if isinstance(family, bool) or not isinstance(family, int) or family < 1:
        raise ValueError(f"binomial_in_family: family must be an integer >= 1, got {family!r}")
    lo, hi = binomial_interval(n, q, FALSE_ALARM_PER_CHECK / family)
    mean = n * q
    budget = max(mean - lo, 0.0) if count < mean else max(hi - mean, 0.0)
    return compare(np.asarray(float(count)), np.asarray(mean), np.asarray(budget))
