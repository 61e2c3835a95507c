"""Bounds of the initializers (reference/initializers.py): what a framework's random weights must satisfy,
exactly where it can be said exactly (the support, the dtype, the same seed) and statistically otherwise (mean,
variance, the CDF, independence of two seeds), each statistical check failing a correct backend with probability
at most ``errormodel.FALSE_ALARM_PER_CHECK`` (docs/spec/initializers.md#checks).

Rounding: a framework computes the law's parameters (a variance, its square root, a bound) and each sample
(loc + scale * z, or a bound times a uniform) in the dtype; a handful of roundings, each at most u relative,
so a weight w is the exact draw within ``SAMPLE_ROUNDINGS`` roundings of |loc| + |w - loc| (gamma_4 u).

Spec: docs/spec/error-budgets.md#statistical-checks
"""

from __future__ import annotations

from math import inf, isinf, log, pi, sqrt

import numpy as np

from nnspec.conformance.errormodel import FALSE_ALARM_PER_CHECK, gamma
from nnspec.reference import dtypes
from nnspec.reference import initializers as init

__all__ = ["SAMPLE_ROUNDINGS", "CDF_POINTS", "support_interval", "mean_budget", "variance_budget", "cdf_points",
           "cdf_budget", "median", "independence_budget"]

#: Roundings between the exact draw and the returned weight: the variance (or std), its square root or the
#: bound, the product with a standard draw, the sum with loc (the dtype rounding of the result is among them).
SAMPLE_ROUNDINGS = 4
#: Points at which the empirical CDF is compared with the law's (the DKW bound holds for the supremum over all
#: t, so it holds for any subset of points).
CDF_POINTS = 64
_LOG_TERM = log(2.0 / FALSE_ALARM_PER_CHECK)  # two-sided: alpha / 2 for each tail


def _rel(fmt: dtypes.Format) -> float:
    return float(gamma(SAMPLE_ROUNDINGS, fmt.unit_roundoff))


def _spread(d: init.Law, w: np.ndarray) -> np.ndarray:
    """|loc| + |w - loc|: the magnitude each weight's roundings are relative to."""
    return abs(d.loc) + np.abs(np.asarray(w, dtype=np.float64) - d.loc)


def support_interval(d: init.Law, fmt: dtypes.Format) -> tuple[float, float, float]:
    """(lower, upper, allowance): every weight must lie in [lower - allowance, upper + allowance]; the allowance
    is the rounding of the bound itself (gamma_4 u of max(|lower|, |upper|)), 0 for a constant (exact)."""
    if d.kind == "constant":
        return d.lower, d.upper, 0.0
    finite = [abs(v) for v in (d.lower, d.upper, d.loc) if not isinf(v)]
    return d.lower, d.upper, _rel(fmt) * max(finite) + fmt.tiny


def _subgaussian_scale(d: init.Law) -> float:
    """A variance proxy s with E exp(l (w - mean)) <= exp(l**2 s**2 / 2): Hoeffding's lemma gives half the width
    of a bounded support; a normal restricted to an interval is strongly log-concave with constant 1 / scale**2,
    so it is sub-Gaussian with proxy scale (Bakry-Emery and Herbst); the smaller of the two holds."""
    half_width = (d.upper - d.lower) / 2.0
    return half_width if d.kind != "normal" else min(d.scale, half_width)


def mean_budget(d: init.Law, w: np.ndarray, fmt: dtypes.Format) -> float:
    """Budget of |mean(w) - E w| over n independent weights: P(|mean - E w| >= t) <= 2 exp(-n t**2 / (2 s**2)) =
    alpha at t = s sqrt(2 log(2 / alpha) / n) (s from ``_subgaussian_scale``), plus each weight's rounding
    (gamma_4 u of |loc| + |w - loc|, averaged) and the float64 sum of the check (gamma_n u64 of mean |w|)."""
    w = np.asarray(w, dtype=np.float64)
    n = w.size
    statistical = _subgaussian_scale(d) * sqrt(2.0 * _LOG_TERM / n)
    rounding = _rel(fmt) * float(np.mean(_spread(d, w)))
    summation = float(gamma(n, dtypes.FLOAT64.unit_roundoff)) * float(np.mean(np.abs(w)))
    return statistical + rounding + summation


def variance_budget(d: init.Law, w: np.ndarray, fmt: dtypes.Format) -> float:
    """Budget of |mean((w - E w)**2) - Var w| over n independent weights.

    Bounded support: each (w - E w)**2 lies in [0, M], M = max((upper - E w)**2, (lower - E w)**2), so by
    Hoeffding t = M sqrt(log(2 / alpha) / (2 n)). Untruncated normal N(0, s**2): n S / s**2 is chi-square with n
    degrees of freedom and Laurent & Massart (2000, Lemma 1) give P(chi2 - n >= 2 sqrt(n x) + 2 x) <= exp(-x) and
    P(n - chi2 >= 2 sqrt(n x)) <= exp(-x); x = log(2 / alpha), the larger side for both. Plus the rounding of each
    weight (2 gamma_4 u + its square, relative to (|loc| + |w - loc|)**2) and the float64 arithmetic of the check.
    """
    w = np.asarray(w, dtype=np.float64)
    n, m, s = w.size, init.mean(d), init.variance(d)
    if d.kind == "normal" and isinf(d.lower) and isinf(d.upper):
        statistical = d.scale ** 2 * (2.0 * sqrt(n * _LOG_TERM) + 2.0 * _LOG_TERM) / n
    else:
        statistical = max((d.upper - m) ** 2, (d.lower - m) ** 2) * sqrt(_LOG_TERM / (2.0 * n))
    rel = _rel(fmt)
    rounding = (2.0 * rel + rel * rel) * float(np.mean(_spread(d, w) ** 2)) * 2.0
    arithmetic = float(gamma(n + 3, dtypes.FLOAT64.unit_roundoff)) * (float(np.mean((w - m) ** 2)) + s)
    return statistical + rounding + arithmetic


def cdf_points(d: init.Law) -> np.ndarray:
    """Where the empirical CDF is judged: ``CDF_POINTS`` points evenly inside a bounded support, or loc +- 4
    scale for an untruncated normal."""
    if isinf(d.lower) or isinf(d.upper):
        return d.loc + d.scale * np.linspace(-4.0, 4.0, CDF_POINTS)
    return d.lower + (d.upper - d.lower) * np.arange(1, CDF_POINTS + 1) / (CDF_POINTS + 1)


def _max_density(d: init.Law) -> float:
    if d.kind == "uniform":
        return 1.0 / (d.upper - d.lower)
    mass = init.cdf(init.Law("normal", -inf, inf, d.loc, d.scale), d.upper) - init.cdf(
        init.Law("normal", -inf, inf, d.loc, d.scale), d.lower)
    return 1.0 / (d.scale * sqrt(2.0 * pi) * mass)


def cdf_budget(d: init.Law, n: int, t: np.ndarray, fmt: dtypes.Format) -> np.ndarray:
    """Budget of |F_n(t) - F(t)| at each point t: the Dvoretzky-Kiefer-Wolfowitz inequality with Massart's
    constant, P(sup_t |F_n(t) - F(t)| > e) <= 2 exp(-2 n e**2) = alpha at e = sqrt(log(2 / alpha) / (2 n)); plus
    the discreteness of the framework's sampler and the dtype (2 u: a sampler built on 24-bit uniforms moves the
    CDF by at most 2**-23) and the rounding of the weights near t (max density x 2 gamma_4 u (|loc| + |t - loc|))."""
    u, t = fmt.unit_roundoff, np.asarray(t, dtype=np.float64)
    shift = 2.0 * _rel(fmt) * _spread(d, t)
    return sqrt(_LOG_TERM / (2.0 * n)) + 2.0 * u + _max_density(d) * shift


def median(d: init.Law) -> float:
    """The law's median (F(m) = 1/2), by bisection on the reference's CDF: the threshold of the independence
    check, so that each weight is below it with probability exactly 1/2."""
    if d.kind != "normal" or (d.lower - d.loc) == -(d.upper - d.loc):
        return (d.lower + d.upper) / 2.0 if d.kind != "normal" else d.loc
    low, high = d.lower, d.upper
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        low, high = (middle, high) if init.cdf(d, middle) < 0.5 else (low, middle)
    return (low + high) / 2.0


def independence_budget(d: init.Law, n: int, fmt: dtypes.Format) -> float:
    """Budget of |K / n - 1/4|, K = the number of positions where the draws of two seeds are both at most the
    median: under independence the n indicators are independent Bernoulli(1/4), and Hoeffding gives
    t = sqrt(log(2 / alpha) / (2 n)); plus twice ``cdf_budget``'s discreteness and rounding at the median (each
    draw's probability of being below it moves by at most that much). The same draw twice gives K / n = 1/2."""
    m = median(d)
    rounding = float(cdf_budget(d, 1, np.asarray(m), fmt)) - sqrt(_LOG_TERM / 2.0)
    return sqrt(_LOG_TERM / (2.0 * n)) + 2.0 * rounding
