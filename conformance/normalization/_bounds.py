"""The running error analysis layer_norm and batch_norm share: standardize along an axis, scale and shift.

Spec: docs/spec/error-budgets.md#normalization

Per group of n values along the axis (A = mean |x|, d = x - mean, v the biased variance, w = v + eps):

    e_mean = gamma_{n+1} A                          a sum of n terms and a division
    e_d    = e_mean (1 + u) + u |d|                 the subtraction x - mean
    e_v    = mean(e_d (2 |d| + e_d)) (1 + gamma_{n+1}) + gamma_{n+1} v
    e_w    = e_v (1 + u) + u w + u eps              eps itself is rounded to the format
    r_inv  = (1 / sqrt(1 - e_w / w) - 1)(1 + L u) + L u      1 / sqrt(w), sqrt and reciprocal (or rsqrt)

The mean's error e_mean is absolute and of the size of |x|, not of d: relative to the output it is
gamma_{n+1} A / sqrt(w), the conditioning of a row whose spread is tiny next to its mean (e.g. 1000 + 1e-2 z).
No algorithm that rounds the mean escapes it; the one-pass variance mean(x^2) - mean^2 is worse, its error being
gamma_n mean(x^2) / w (quadratic in A / sqrt(w)), and is not covered. x_hat = d / sqrt(w) is bounded by sqrt(n) in
magnitude, computed or exact, so its error never exceeds |x_hat| + 2 sqrt(n) however close e_w comes to w.

Underflow (docs/spec/error-budgets.md#underflow): every product may lose one smallest normal (flush-to-zero CPUs,
TensorFlow's included). Forward: inv * w times x, mean * (inv * w), x_hat * w, and the sums: tiny (|x| + |mean| +
|w| + 4). The x-gradient by autodiff goes through d(1/sqrt(w))/dw = -inv**3 / 2 and dw/dx = 2 d / n: a product
g w d that loses tiny is magnified by inv**3 |d_j| = inv**2 |x_hat_j|, so each of the 3n + 4 roundings of the
VJP carries tiny inv (1 + inv (|x_hat| + 1)). The weight gradient of the rewrite is (sum g x - sum g mean) inv:
the two products may each lose tiny before the factor inv. Found by the thorough profile: Keras float32 at
g = 5.2e-35, eps = 1e-5: 6.5e-34 for an exact 0 x-gradient (a row of spread 1e-2, inv = 204), and a weight
gradient of 0 for -3.4e-36 (g * mean = -1.1e-38 flushed, times inv = 312).
"""

from __future__ import annotations

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, gamma
from nnspec.reference import dtypes


def mean_error(x: np.ndarray, axis: int, fmt: dtypes.Format) -> np.ndarray:
    """e_mean = gamma_{n+1} mean |x| along ``axis`` (kept)."""
    return gamma(x.shape[axis] + 1, fmt.unit_roundoff) * np.mean(np.abs(x), axis=axis, keepdims=True)


def standardized(x: np.ndarray, eps: float, axis: int, fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """x_hat, 1/sqrt(w), their error bounds e_x_hat (absolute) and r_inv (relative), and the row's mean."""
    u, n = fmt.unit_roundoff, x.shape[axis]
    g = gamma(n + 1, u)
    mean = np.mean(x, axis=axis, keepdims=True)
    d = x - mean
    variance = np.mean(d * d, axis=axis, keepdims=True)
    w = variance + eps
    e_d = mean_error(x, axis, fmt) * (1 + u) + u * np.abs(d)
    e_v = np.mean(e_d * (2 * np.abs(d) + e_d), axis=axis, keepdims=True) * (1 + g) + g * variance
    e_w = e_v * (1 + u) + u * w + u * eps
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, e_w / w, np.inf)
        r_inv = np.where(ratio < 1, 1 / np.sqrt(np.maximum(1 - ratio, 0)) - 1, np.inf) * (1 + LIBM_ULPS * u) \
            + LIBM_ULPS * u
        inv = np.where(w > 0, 1 / np.sqrt(w), np.inf)
        x_hat = np.where(d == 0, 0.0, d * inv)
        e_x_hat = inv * ((np.abs(d) + e_d) * (1 + r_inv) * (1 + u) - np.abs(d))
    e_x_hat = np.minimum(np.where(np.isnan(e_x_hat), np.inf, e_x_hat), np.abs(x_hat) + 2 * np.sqrt(n))
    return {"x_hat": x_hat, "inv": inv, "e_x_hat": e_x_hat, "r_inv": r_inv, "mean": mean, "variance": variance,
            "e_variance": e_v}


def forward_bound(x, weight, bias, eps: float, axis: int, fmt: dtypes.Format) -> np.ndarray:
    """|w| e_x_hat plus the product and the sum's roundings, plus the rewrite x (inv w) + (b - mean inv w) that
    PyTorch's CPU kernel and Keras use instead of (x - mean) inv w + b: it rounds products of size |x| inv |w|."""
    u = fmt.unit_roundoff
    s = standardized(x, eps, axis, fmt)
    scaled = np.abs(s["x_hat"] * weight)
    spec_order = np.abs(weight) * s["e_x_hat"] + u * scaled + u * (scaled + np.abs(bias))
    with np.errstate(invalid="ignore"):
        rewrite = 2 * u * np.abs(weight) * s["inv"] * (np.abs(x) + np.abs(s["mean"])) + 2 * u * np.abs(bias)
    underflow = fmt.tiny * (np.abs(x) + np.abs(s["mean"]) + np.abs(weight) + 4)
    return spec_order + np.where(np.isnan(rewrite), np.inf, rewrite) + underflow


def _late_flushes(d: np.ndarray, inv: np.ndarray, g_w: np.ndarray, axis: int, fmt: dtypes.Format) -> np.ndarray:
    """What autodiff loses when a value after the factor w^(-3/2) falls below the smallest normal: the variance
    path dL/dv = -inv**3 / 2 * sum(g w d), built as products of p = sum(g w d) / 2 and inv one at a time (either
    order), then divided by n and doubled, arrives at x_j multiplied by 2 d_j; the mean path sum(g w) inv / n
    by 1. A value that is flushed was below the smallest normal and loses at most tiny, so each stage whose size
    is under 2 tiny (slack for its own rounding) adds tiny times what follows it: (2 |d_j| + 1), times inv**3
    where inv > 1 (the stages before the last factor of inv). Found by TensorFlow float32, seed 101: x = [-0, 0,
    -30] (d = [10, 10, -20], inv = 0.071), a scale of -6.9e-36, dL/dv / n = 8.1e-39 flushed, the x-gradient
    13.9, 13.9 and 27.7 smallest normals off (docs/spec/error-budgets.md#normalization)."""
    p = 0.5 * np.abs(np.sum(g_w * d, axis=axis, keepdims=True))
    n = d.shape[axis]
    variance_stages = [p * inv**k for k in range(4)] + [p * inv**3 / n, 2 * p * inv**3 / n]
    mean_gradient = np.abs(np.sum(g_w, axis=axis, keepdims=True)) * inv
    mean_stages = [mean_gradient, mean_gradient / n]
    flushed_v = sum((stage < 2 * fmt.tiny).astype(np.float64) for stage in variance_stages)
    flushed_m = sum((stage < 2 * fmt.tiny).astype(np.float64) for stage in mean_stages)
    return fmt.tiny * (flushed_v * np.maximum(1.0, inv) ** 3 * (2 * np.abs(d) + 1) + flushed_m)


def backward_bound(x, weight, grad, eps: float, axis: int, fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """grad_x = inv (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat)), g_hat = g w; grad_weight = sum g x_hat and
    grad_bias = sum g over every axis but the last (M terms)."""
    u, n = fmt.unit_roundoff, x.shape[axis]
    s = standardized(x, eps, axis, fmt)
    x_hat, e_x_hat, inv, r_inv = s["x_hat"], s["e_x_hat"], s["inv"], s["r_inv"]
    g = np.asarray(grad, dtype=np.float64)
    g_hat = np.abs(g * weight)
    s1 = np.mean(g * weight, axis=axis, keepdims=True)
    s2 = np.mean(g * weight * x_hat, axis=axis, keepdims=True)
    e_s1 = (gamma(n + 1, u) + u) * np.mean(g_hat, axis=axis, keepdims=True)
    e_s2 = (np.mean(g_hat * (e_x_hat + u * np.abs(x_hat)), axis=axis, keepdims=True) * (1 + u)
            + gamma(n + 2, u) * np.mean(g_hat * np.abs(x_hat), axis=axis, keepdims=True))
    t = np.abs(x_hat * s2)
    e_t = e_x_hat * (np.abs(s2) + e_s2) + np.abs(x_hat) * e_s2 + u * t
    inner = np.abs(g * weight - s1 - x_hat * s2)
    e_inner = u * g_hat + e_s1 + e_t + 2 * u * (g_hat + np.abs(s1) + t)
    with np.errstate(invalid="ignore", over="ignore"):
        e_x = (e_inner * inv * (1 + r_inv) * (1 + u) + inner * inv * r_inv + u * inner * inv
               + (3 * n + 4) * fmt.tiny * inv * (1 + inv * (np.abs(x_hat) + 1))
               + _late_flushes(x - s["mean"], inv, g * weight, axis, fmt))
    leading = tuple(range(x.ndim - 1))
    m = x.size // x.shape[-1]
    return {"x": np.where(np.isnan(e_x), np.inf, e_x),
            "weight": np.sum(np.abs(g) * (e_x_hat + fmt.tiny) + 2 * fmt.tiny * (1 + inv), axis=leading)
            * (1 + gamma(m + 1, u)) + gamma(m + 1, u) * np.sum(np.abs(g * x_hat), axis=leading) + (m + 1) * fmt.tiny,
            "bias": gamma(m, u) * np.sum(np.abs(g), axis=leading) + m * fmt.tiny}
