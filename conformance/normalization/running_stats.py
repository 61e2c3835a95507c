"""Bounds of BatchNorm's running statistics and of its inference-mode output
(reference/normalization/running_stats.py).

Spec: docs/spec/error-budgets.md#running-statistics

Each batch's mean and biased variance carry the errors of conformance/normalization/_bounds.py (the unbiased
variance: times N / (N - 1), two more roundings). One update r' = keep * r + (1 - keep) * s rounds each
coefficient (momentum rounded to the format, 1 - momentum: at most 2u each, absolute), both products and the sum,
and carries r's and s's errors with the weights keep and 1 - keep: after k batches the errors of every earlier
update have been damped by keep per later update, never amplified. The inference output is judged at the running
statistics the backend returned (exact in the dtype), so its bound has no reduction: d = x - running_mean and
1 / sqrt(running_var + eps) round once each, plus the rewrite x * (inv * w) + (b - running_mean * inv * w).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS
from nnspec.conformance.normalization import _bounds
from nnspec.reference import dtypes


def statistics_bound(batches: Sequence[np.ndarray], momentum: float, conventions: Mapping[str, str],
                     fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """Absolute bounds on the running mean and variance after every batch, per channel."""
    u = fmt.unit_roundoff
    keep = 1.0 - momentum if conventions.get("momentum_weights", "new") == "new" else momentum
    unbiased = conventions.get("running_variance", "unbiased") == "unbiased"
    mean, var = np.zeros(batches[0].shape[1]), np.ones(batches[0].shape[1])
    e_mean, e_var = np.zeros_like(mean), np.zeros_like(var)
    for batch in batches:
        count = batch.shape[0]
        s = _bounds.standardized(batch, 0.0, 0, fmt)
        batch_mean, batch_var, e_batch_var = s["mean"][0], s["variance"][0], s["e_variance"][0]
        e_batch_mean = _bounds.mean_error(batch, 0, fmt)[0]
        if unbiased:
            batch_var, e_batch_var = batch_var * count / (count - 1), e_batch_var * count / (count - 1) \
                + 2 * u * batch_var * count / (count - 1)
        e_mean = _update_error(keep, mean, e_mean, batch_mean, e_batch_mean, u, fmt.tiny)
        e_var = _update_error(keep, var, e_var, batch_var, e_batch_var, u, fmt.tiny)
        mean = keep * mean + (1 - keep) * batch_mean
        var = keep * var + (1 - keep) * batch_var
    return {"running_mean": e_mean, "running_var": e_var}


def _update_error(keep: float, r, e_r, s, e_s, u: float, tiny: float) -> np.ndarray:
    """r' = keep r + (1 - keep) s: the carried errors, the coefficients' 2u each, two products and a sum (each
    of the three may lose a smallest normal)."""
    products = keep * np.abs(r) + (1 - keep) * np.abs(s)
    return (keep * e_r + (1 - keep) * e_s + 2 * u * (np.abs(r) + np.abs(s)) + 2 * u * products) * (1 + 2 * u) \
        + 3 * tiny


def inference_bound(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, running_mean: np.ndarray,
                    running_var: np.ndarray, eps: float, fmt: dtypes.Format) -> np.ndarray:
    """The inference output at given running statistics: one rounding of d, of running_var + eps (and of eps
    itself), sqrt and reciprocal, the products and the sum, and the rewrite's products of size |x| inv |w|."""
    u = fmt.unit_roundoff
    w = running_var + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, (u * w + u * eps) / w, np.inf)
        r_inv = np.where(ratio < 1, 1 / np.sqrt(np.maximum(1 - ratio, 0)) - 1, np.inf) * (1 + LIBM_ULPS * u) \
            + LIBM_ULPS * u
        inv = np.where(w > 0, 1 / np.sqrt(w), np.inf)
        d = np.abs(x - running_mean)
        scaled = d * inv * np.abs(weight)
        e = (np.abs(weight) * inv * (d * (1 + u) * (1 + r_inv) * (1 + u) - d) + 2 * u * scaled
             + u * (scaled + np.abs(bias)) + 2 * u * np.abs(weight) * inv * (np.abs(x) + np.abs(running_mean))
             + 2 * u * np.abs(bias) + fmt.tiny * (np.abs(x) + np.abs(running_mean) + np.abs(weight) + 4))
    return np.where(np.isnan(e), np.inf, e)


#: A fixed case under which the four convention combinations give four different running statistics: batches
#: of 2 and 3 rows (the unbiased variance is 2x and 1.5x the biased one), momentum 0.25 (weights 0.25 and 0.75
#: differ). Keys: the arguments of ``Backend.batch_norm_running_stats`` but dtype.
PROBE = {"batches": [np.array([[1.0, -2.0], [3.0, 6.0]]), np.array([[0.5, 1.0], [2.0, 4.0], [5.0, -1.0]])],
         "momentum": 0.25, "x": np.array([[1.0, 2.0]]), "weight": np.array([1.0, 0.5]), "bias": np.array([0.0, 1.0]),
         "eps": 1e-3}
