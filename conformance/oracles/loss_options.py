"""Exact KL divergence, binary losses with pos_weight and label smoothing, and the last-axis reductions: the
spec's formulas written again in SymPy, evaluated with mpmath at 50 digits, rounded once.

Spec: docs/spec/losses.md#kl-divergence, #pos-weight, #binary-label-smoothing, #last-axis

Never imports ``nnspec.reference``. Each per-element loss is a SymPy expression; its derivative is SymPy's
(``sympy.diff``), lambdified to mpmath:

- KL divergence: p (log p - l) in the symbol l = log q (or q, then l = log q), p = exp(t) for log targets; an
  element with p = 0 is 0 and its derivative 0 (the spec's 0 log 0 = 0). With ``clip_probability`` c, p and q are
  clipped to [c, 1] first and the derivative in q is 0 where q < c.
- BCE with logits: w y log1p(exp(-x)) + (1 - y) log1p(exp(x)) (w = pos_weight, broadcast over the last axis; a
  term with weight 0 is 0); BCE on probabilities: -(y log p + (1 - y) log1p(-p)); the target first smoothed
  exactly, y (1 - e) + e / 2.
- Reductions at 50 digits: "sum", "mean" (every element), "batchmean" (the first axis), "none"; with ``last_axis``
  each sample's sum (or mean) over the last axis first, "mean" then dividing by the number of samples.
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

__all__ = ["DPS", "values", "gradients"]

DPS = 50
_x, _y, _w = sp.symbols("x y w", real=True)


@functools.cache
def _expression(name: str, space: str):
    """(value, derivative) lambdified to mpmath, in the symbols x (the differentiated input), y, w."""
    if name == "kl_divergence":
        log_q = sp.log(_x) if space == "probs" else _x
        p, log_p = (sp.exp(_y), _y) if space == "log_target" else (_y, sp.log(_y))
        value = p * (log_p - log_q)
    elif name == "binary_cross_entropy_with_logits":
        value = _w * _y * log1p(sp.exp(-_x)) + (1 - _y) * log1p(sp.exp(_x))
    else:  # binary_cross_entropy
        value = -(_y * sp.log(_x) + (1 - _y) * log1p(-_x))
    return (sp.lambdify((_x, _y, _w), value, "mpmath"), sp.lambdify((_x, _y, _w), sp.diff(value, _x), "mpmath"))


def _element(name: str, space: str, x: float, y: float, w: float, params: dict, want: str):
    if np.isnan(x) or np.isnan(y):
        return mpmath.nan
    mx, my, mw = mpmath.mpf(x), mpmath.mpf(y), mpmath.mpf(w)
    c = params.get("clip_probability")
    if name == "kl_divergence":
        if c is not None:
            clipped_q = mx < c
            mx, my = max(mx, mpmath.mpf(c)), max(my, mpmath.mpf(c))
            if want == "derivative" and clipped_q:
                return mpmath.mpf(0)
        if space != "log_target" and my == 0:
            return mpmath.mpf(0)  # 0 log 0 = 0, whatever q
    e = mpmath.mpf(params.get("label_smoothing", 0.0))
    if name != "kl_divergence":
        my = my * (1 - e) + e / 2
    value, derivative = _expression(name, space)
    return (value if want == "value" else derivative)(mx, my, mw)


def _per_element(name, x, target, params, want):
    x, target = np.asarray(x, dtype=np.float64), np.asarray(target, dtype=np.float64)
    space = "probs" if params.get("prediction") else "log_target" if params.get("log_target") else "log"
    weight = np.broadcast_to(np.asarray(params.get("pos_weight", 1.0), dtype=np.float64), x.shape)
    out = [_element(name, space, float(a), float(b), float(w), params, want)
           for a, b, w in zip(x.ravel(), target.ravel(), weight.ravel())]
    return np.array(out, dtype=object).reshape(x.shape)


def _samples(losses: np.ndarray, last_axis: str | None) -> np.ndarray:
    if last_axis is None:
        return losses
    d = losses.shape[-1]
    flat = losses.reshape(-1, d)
    sums = [mpmath.fsum(row) / (d if last_axis == "mean" else 1) for row in flat]
    return np.array(sums, dtype=object).reshape(losses.shape[:-1])


def values(name: str, x: np.ndarray, target: np.ndarray, reduction: str = "mean", **params) -> np.ndarray:
    """The exact loss rounded once to float64. ``params``: pos_weight, label_smoothing, log_target, prediction
    (True: ``x`` holds probabilities q), clip_probability, last_axis."""
    with mpmath.workdps(DPS):
        losses = _samples(_per_element(name, x, target, params, "value"), params.get("last_axis"))
        if reduction == "none":
            return np.vectorize(float, otypes=[np.float64])(losses) if losses.size else np.zeros(losses.shape)
        total = mpmath.fsum(losses.ravel())
        if reduction == "mean":
            total = total / losses.size
        elif reduction == "batchmean":
            total = total / (np.shape(x)[0] if np.ndim(x) else 1)
        return np.array(float(total), dtype=np.float64)


def gradients(name: str, x: np.ndarray, target: np.ndarray, grad_output=1.0, reduction: str = "mean",
              **params) -> np.ndarray:
    """The exact vector-Jacobian product with respect to ``x``, rounded once to float64."""
    x = np.asarray(x, dtype=np.float64)
    last_axis = params.get("last_axis")
    with mpmath.workdps(DPS):
        local = _per_element(name, x, target, params, "derivative")
        g = np.asarray(grad_output, dtype=np.float64)
        samples = x.shape[:-1] if last_axis else x.shape
        count = {"mean": int(np.prod(samples)), "batchmean": x.shape[0] if x.ndim else 1}.get(reduction, 1)
        upstream = (np.vectorize(mpmath.mpf, otypes=[object])(g) if reduction == "none"
                    else np.full(samples, mpmath.mpf(float(g)) / count, dtype=object))
        if last_axis:
            upstream = upstream[..., None] / (x.shape[-1] if last_axis == "mean" else 1)
        out = np.broadcast_to(upstream, x.shape) * local
        return np.vectorize(float, otypes=[np.float64])(out) if out.size else np.zeros(x.shape)
