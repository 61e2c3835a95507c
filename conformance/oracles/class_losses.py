"""Exact class-indexed losses with their options: softmax cross-entropy with class weights, ignore_index, label
smoothing and inputs of shape (N, C, d1, ...), and the negative log-likelihood; 50 digits, rounded once.

Spec: docs/spec/losses.md#class-weights-and-ignore-index, docs/spec/losses.md#nll-loss

A second, independent writing of those sections; it never imports ``nnspec.reference``. The class axis is
axis 1; each position (n, d1, ...) is one row. A row's coefficients are a_c = w_c q_c (``smoothing_weight``
"per_class") or w_label q_c ("per_example"), q = (1 - eps) onehot(label) + eps / C; an ignored row has none.
The cross-entropy row is sum_c a_c (lse - z_c) at the row shifted by its max (finite logits only), and its
gradient SymPy's derivative of -sum_c a_c (z_c - log sum_k exp z_k); the NLL row is -w_label x_label. "mean"
divides the exact sum by the exact sum of w_label over kept rows ("weight_sum") or by their count ("kept_count").
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp

__all__ = ["NAMES", "values", "gradients", "cross_entropy_gradient"]

DPS = 50
NAMES = ("softmax_cross_entropy", "nll_loss")


@functools.cache
def cross_entropy_gradient(classes: int):
    """SymPy's gradient of -sum_c a_c (z_c - log sum_k exp z_k) over a row of C symbols, lambdified to mpmath:
    a function of (z_0, ..., z_{C-1}, a_0, ..., a_{C-1}) (also the unweighted loss's, conformance/oracles/losses.py)."""
    z = sp.symbols(f"z0:{classes}", real=True)
    a = sp.symbols(f"a0:{classes}", real=True)
    loss = -sum(a[c] * (z[c] - sp.log(sum(sp.exp(zk) for zk in z))) for c in range(classes))
    return sp.lambdify(z + a, [sp.diff(loss, zj) for zj in z], "mpmath", cse=True)


def _rows(name, x, target, params):
    """(rows of x as lists of mpf, labels, coefficient lists, kept flags, row weights)."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), 1, -1)
    classes = x.shape[-1]
    rows = x.reshape(-1, classes)
    labels = [int(v) for v in np.asarray(target).reshape(-1)]
    w = [mpmath.mpf(1)] * classes if params.get("weight") is None else [mpmath.mpf(float(v)) for v in params["weight"]]
    eps = mpmath.mpf(float(params.get("label_smoothing", 0.0)))
    ignore = params.get("ignore_index")
    kept = [ignore is None or label != ignore for label in labels]
    coefficients = []
    for label, keep in zip(labels, kept):
        if not keep or name == "nll_loss":
            coefficients.append(None)
            continue
        q = [(1 - eps) * (1 if c == label else 0) + eps / classes for c in range(classes)]
        scale = w if params.get("smoothing_weight", "per_class") == "per_class" else [w[label]] * classes
        coefficients.append([s * qc for s, qc in zip(scale, q)])
    row_weight = [w[label] if keep else mpmath.mpf(0) for label, keep in zip(labels, kept)]
    return rows, labels, coefficients, kept, row_weight


def _row_value(name, row, label, a, weight):
    if name == "nll_loss":
        return -weight * mpmath.mpf(float(row[label]))
    top = max(float(v) for v in row)
    z = [mpmath.mpf(float(v)) - mpmath.mpf(top) for v in row]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(zk) for zk in z))
    return mpmath.fsum(ac * (lse - zc) for ac, zc in zip(a, z))


def _row_gradient(name, row, label, a, weight):
    if name == "nll_loss":
        return [-weight if c == label else mpmath.mpf(0) for c in range(len(row))]
    top = max(float(v) for v in row)
    z = [mpmath.mpf(float(v)) - mpmath.mpf(top) for v in row]
    return cross_entropy_gradient(len(row))(*z, *a)


def _divisor(kept, row_weight, params):
    if params.get("mean_divisor", "weight_sum") == "weight_sum":
        return mpmath.fsum(row_weight)
    return mpmath.mpf(sum(kept))


def values(name: str, x: np.ndarray, target: np.ndarray, reduction: str = "mean", **params) -> np.ndarray:
    """The exact loss of ``name`` ("softmax_cross_entropy" with labels, or "nll_loss"), rounded once: shape ()
    for "mean"/"sum", (N, d1, ...) for "none". ``params``: weight, ignore_index, label_smoothing, mean_divisor,
    smoothing_weight."""
    with mpmath.workdps(DPS):
        rows, labels, coefficients, kept, row_weight = _rows(name, x, target, params)
        losses = [_row_value(name, row, label, a, weight) if keep else mpmath.mpf(0)
                  for row, label, a, keep, weight in zip(rows, labels, coefficients, kept, row_weight)]
        if reduction == "none":
            return np.array([float(v) for v in losses]).reshape(np.shape(target))
        total = mpmath.fsum(losses)
        if reduction == "mean":
            divisor = _divisor(kept, row_weight, params)
            total = total / divisor if divisor != 0 else mpmath.nan
        return np.array(float(total))


def gradients(name: str, x: np.ndarray, target: np.ndarray, grad_output=1.0, reduction: str = "mean",
              **params) -> np.ndarray:
    """The exact vector-Jacobian product with respect to ``x``, rounded once, of ``x``'s shape."""
    with mpmath.workdps(DPS):
        rows, labels, coefficients, kept, row_weight = _rows(name, x, target, params)
        g = np.asarray(grad_output, dtype=np.float64)
        if reduction == "none":
            upstream = [mpmath.mpf(float(v)) for v in g.reshape(-1)]
        else:
            scale = mpmath.mpf(float(g)) / (_divisor(kept, row_weight, params) if reduction == "mean" else 1)
            upstream = [scale] * len(rows)
        out = [[float(d * up) for d in _row_gradient(name, row, label, a, weight)] if keep else [0.0] * len(row)
               for row, label, a, keep, weight, up in zip(rows, labels, coefficients, kept, row_weight, upstream)]
        x = np.asarray(x)
        return np.moveaxis(np.array(out).reshape(x.shape[:1] + x.shape[2:] + x.shape[1:2]), -1, 1)
