"""Exact losses and gradients: the spec's formulas written again in SymPy, evaluated at 50 digits, rounded once.

Spec: docs/spec/losses.md

This is the second, independent writing of docs/spec/losses.md; it never imports ``nnspec.reference``.
Every derivative is SymPy's (``sympy.diff`` of the loss expression), not the hand-derived formula of the spec.

- Elementwise losses (MSE, BCE, BCE with logits) are sums of terms ``weight(target) * value(x)``; a term with
  weight 0 contributes 0 even where ``value`` is infinite (the spec's 0*log 0 = 0). ``value`` and its SymPy
  derivative are lambdified to mpmath. Where mpmath meets a pole or inf/inf -- p in {0, 1} for BCE, logits
  +-inf -- the oracle takes SymPy's limit of that expression from inside the domain: the spec's pinned values
  are exactly these limits. MSE has no limits: inf - inf stays NaN, as IEEE arithmetic says.
- Softmax cross-entropy, per row (mpmath at 50 digits): the row is shifted by its max (entries equal to the max,
  +inf ties included, shift to exactly 0; a row of only -inf has softmax 0 everywhere: the spec's pins, see
  docs/spec/activations.md#log-softmax); the loss is sum_c q_c (lse - z_c) with
  lse = log1p(sum over the non-max entries of exp(z_k)), so tiny losses keep their digits; the gradient is
  SymPy's derivative of -sum_c q_c (z_c - log sum_k exp z_k) over a row of C symbols, evaluated at the
  shifted row (the loss is invariant under the shift, an identity).
- Huber and smooth-L1: SymPy ``Piecewise`` expressions in r = x - y (quadratic where |r| <= delta, linear beyond;
  smooth-L1 is Huber / delta, |r| at delta = 0) and SymPy's derivative of them, evaluated with mpmath; at
  r = +-inf the linear piece gives +inf and +-delta directly, inf - inf is NaN.
- Reductions: "mean" and "sum" add the exact per-element values at 50 digits and round once; "mean" divides by
  the element count (MSE, BCE) or the number of rows N (cross-entropy); an empty "mean" is NaN.

NaN inputs give NaN (an elementwise NaN its element, a NaN logit its row). Results are float64 arrays.
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

from nnspec.conformance.oracles import class_losses, loss_options

__all__ = ["DPS", "NAMES", "loss_gradients", "loss_values"]

DPS = 50
NAMES = (
    "mean_squared_error",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "softmax_cross_entropy",
    "softmax_cross_entropy_probs",
    "huber",
    "smooth_l1",
    "kl_divergence",  # with the binary losses' options and the last-axis reductions: loss_options.py
    "nll_loss",  # and the cross-entropy's class weights, ignore_index, (N, C, d1, ...): class_losses.py
)
#: options of a class-indexed loss that only class_losses.py evaluates
_CLASS_OPTIONS = {"weight", "ignore_index", "mean_divisor", "smoothing_weight"}
_PARAMS = {
    "binary_cross_entropy": {"log_floor", "denominator_floor"},
    "softmax_cross_entropy": {"label_smoothing"},
    "softmax_cross_entropy_probs": {"label_smoothing"},
    "huber": {"delta"},
    "smooth_l1": {"delta"},
}

_x, _y, _floor = sp.symbols("x y floor", real=True)


_delta = sp.Symbol("delta", nonnegative=True)
_r = _x - _y
#: The spec's piecewise Huber loss; smooth-L1 is it divided by delta, and its delta = 0 limit is |r|.
_HUBER = sp.Piecewise((_r**2 / 2, sp.Abs(_r) <= _delta), (_delta * (sp.Abs(_r) - _delta / 2), True))
_PIECEWISE = {"huber": _HUBER, "smooth_l1": sp.Piecewise((sp.Abs(_r), sp.Eq(_delta, 0)), (_HUBER / _delta, True))}


@functools.cache
def _piecewise(name: str, want: str):
    """The lambdified piecewise loss ('value') or SymPy's derivative of it in x ('derivative')."""
    expr = _PIECEWISE[name] if want == "value" else sp.diff(_PIECEWISE[name], _x)
    return sp.lambdify((_x, _y, _delta), expr, "mpmath")


def _terms(name: str, floored: tuple[bool, bool]) -> list[tuple[sp.Expr, sp.Expr]]:
    """The per-element loss as (weight, value) terms. ``floored`` marks BCE log terms replaced by log_floor."""
    if name == "mean_squared_error":
        return [(sp.Integer(1), (_x - _y) ** 2)]
    if name == "binary_cross_entropy":
        log_p = _floor if floored[0] else sp.log(_x)
        log_not_p = _floor if floored[1] else log1p(-_x)  # log(1 - p), exact near p = 0
        return [(_y, -log_p), (1 - _y, -log_not_p)]
    # binary_cross_entropy_with_logits: -log(sigmoid(x)) = log1p(exp(-x)), -log(1 - sigmoid(x)) = log1p(exp(x))
    return [(_y, log1p(sp.exp(-_x))), (1 - _y, log1p(sp.exp(_x)))]


@functools.cache
def _compiled(name: str, floored: tuple[bool, bool] = (False, False)):
    """Lambdified pieces of one loss: the derivative of the whole per-element loss, and for each term
    (weight, value, d value / dx) with the value and derivative expressions kept for limits.

    For BCE the whole derivative is put over a common denominator, (y - x)/(x**2 - x): its one subtraction is
    of exact inputs, so it is exactly 0 at p = y. With logits SymPy's sum of the two sigmoid terms is kept:
    over a common denominator it would subtract huge exponentials."""
    args = (_x, _y, _floor)
    terms = _terms(name, floored)
    whole = sp.diff(sum(weight * value for weight, value in terms), _x)
    if name == "binary_cross_entropy":
        whole = sp.cancel(whole)
    pieces = []
    for weight, value in terms:
        derivative = sp.diff(value, _x)
        pieces.append(
            (
                sp.lambdify(args, weight, "mpmath"),
                sp.lambdify(args, value, "mpmath"),
                sp.lambdify(args, derivative, "mpmath"),
                value,
                derivative,
            )
        )
    return sp.lambdify(args, whole, "mpmath"), pieces


@functools.cache
def _limit(expr: sp.Expr, point: float) -> mpmath.mpf:
    """SymPy's limit of a one-variable term at a domain edge: +-inf, or p = 0 from above, p = 1 from below."""
    target = sp.oo if point == np.inf else -sp.oo if point == -np.inf else sp.Rational(point)
    direction = "-" if point == 1.0 else "+"
    return mpmath.mpf(float(sp.limit(expr, _x, target, direction)))


def _regular(function, *args):
    """function(*args), or None where mpmath meets a pole (division by 0) or an indeterminate form (NaN)."""
    try:
        result = function(*args)
    except ZeroDivisionError:
        return None
    return None if mpmath.isnan(result) else result


def _elementwise(name: str, x: float, y: float, params: dict, want: str) -> mpmath.mpf:
    """The exact loss ('value') or derivative ('derivative') of one element."""
    if np.isnan(x) or np.isnan(y):
        return mpmath.nan
    mx, my = mpmath.mpf(x), mpmath.mpf(y)
    if name in _PIECEWISE:
        return _piecewise(name, want)(mx, my, mpmath.mpf(params.get("delta", 1.0)))
    if (
        name == "binary_cross_entropy"
        and want == "derivative"
        and params.get("denominator_floor") is not None
    ):
        floor = mpmath.mpf(params["denominator_floor"])
        return (mx - my) / max(mx * (1 - mx), floor)  # PyTorch's backward formula, not a derivative
    floor = mpmath.mpf(params.get("log_floor") if params.get("log_floor") is not None else 0)
    floored = (False, False)
    if name == "binary_cross_entropy" and params.get("log_floor") is not None:
        floored = (mpmath.log(mx) < floor, mpmath.log1p(-mx) < floor)
    whole, pieces = _compiled(name, floored)
    if name == "mean_squared_error":  # no limits: inf - inf is NaN, as IEEE says
        return pieces[0][1](mx, my, floor) if want == "value" else whole(mx, my, floor)
    if want == "derivative":
        result = _regular(whole, mx, my, floor)
        if result is not None:
            return result
    total = mpmath.mpf(0)  # term by term, with limits at the poles and at +-inf
    for weight, value, derivative, value_expr, derivative_expr in pieces:
        w = weight(mx, my, floor)
        if w == 0:
            continue  # 0 * log 0 = 0: a term with weight 0 contributes nothing
        function, expr = (value, value_expr) if want == "value" else (derivative, derivative_expr)
        result = _regular(function, mx, my, floor)
        total += w * (_limit(expr, x) if result is None else result)
    return total


def _distribution(row_target, classes: int, smoothing: float) -> list[mpmath.mpf]:
    """q = (1 - eps) * onehot(label) + eps / C, or (1 - eps) * probabilities + eps / C, exactly."""
    eps = mpmath.mpf(smoothing)
    if np.ndim(row_target) == 0:
        row_target = [1.0 if c == int(row_target) else 0.0 for c in range(classes)]
    return [(1 - eps) * mpmath.mpf(float(t)) + eps / classes for t in row_target]


def _cross_entropy_row(x_row, q: list, want: str):
    classes = len(x_row)
    if any(np.isnan(v) for v in x_row) or any(mpmath.isnan(v) for v in q):
        return mpmath.nan if want == "value" else [mpmath.nan] * classes
    top = max(float(v) for v in x_row)
    if top == -np.inf:  # pinned: no mass anywhere, log_softmax = -inf, softmax = 0
        if want == "derivative":
            return [-qc for qc in q]
        return mpmath.inf if any(qc != 0 for qc in q) else mpmath.mpf(0)
    z = [mpmath.mpf(0) if v == top else mpmath.mpf(float(v)) - mpmath.mpf(top) for v in x_row]
    if want == "derivative":
        return class_losses.cross_entropy_gradient(classes)(*z, *q)
    first_max = [float(v) for v in x_row].index(top)
    lse = mpmath.log1p(mpmath.fsum(mpmath.exp(zk) for k, zk in enumerate(z) if k != first_max))
    return mpmath.fsum(qc * (lse - zc) for qc, zc in zip(q, z) if qc != 0)


def _per_element(name: str, x: np.ndarray, target: np.ndarray, params: dict, want: str):
    """The exact per-element (per-row for cross-entropy) losses or local derivatives, as nested lists."""
    if name.startswith("softmax_cross_entropy"):
        target = np.asarray(target)
        if name.endswith("_probs") and target.dtype.kind != "f":
            raise ValueError(f"losses.{name}: target must be class probabilities, got {target.dtype}")
        smoothing = params.get("label_smoothing", 0.0)
        return [
            _cross_entropy_row(x[n], _distribution(target[n], x.shape[1], smoothing), want)
            for n in range(x.shape[0])
        ]
    return [_elementwise(name, float(a), float(b), params, want) for a, b in zip(x.ravel(), target.ravel())]


def _check(name: str, reduction: str, params: dict) -> None:
    if name not in NAMES:
        raise ValueError(f"losses: name must be one of {', '.join(NAMES)}, got {name!r}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"losses.{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    unknown = set(params) - _PARAMS.get(name, set())
    if unknown:
        raise ValueError(f"losses.{name}: unknown parameters {sorted(unknown)}")


def _class_loss(name: str, x, params) -> bool:
    """NLL, and the labels' cross-entropy with class weights, ignore_index or inputs (N, C, d1, ...)."""
    return name == "nll_loss" or (name == "softmax_cross_entropy" and (bool(_CLASS_OPTIONS & set(params))
                                                                      or np.ndim(x) > 2))


def loss_values(
    name: str, x: np.ndarray, target: np.ndarray, reduction: str = "mean", **params
) -> np.ndarray:
    """The exact loss, rounded once to float64: shape () for "mean"/"sum", per element or (N,) for "none".

    ``x`` is the prediction, probability or logits; ``params`` are the loss's keyword options
    (log_floor; label_smoothing; denominator_floor is accepted and only used by ``loss_gradients``).
    """
    if name == "kl_divergence":
        return loss_options.values(name, x, target, reduction, **params)
    if _class_loss(name, x, params):
        return class_losses.values(name, x, target, reduction, **params)
    _check(name, reduction, params)
    x = np.asarray(x)
    with mpmath.workdps(DPS):
        values = _per_element(name, x, target, params, "value")
        count = len(values)
        if reduction == "none":
            shape = (x.shape[0],) if name.startswith("softmax") else x.shape
            return np.array([float(v) for v in values], dtype=np.float64).reshape(shape)
        total = mpmath.fsum(values)
        if reduction == "mean":
            total = total / count if count else mpmath.nan
        return np.array(float(total), dtype=np.float64)


def loss_gradients(
    name: str, x: np.ndarray, target: np.ndarray, grad_output=1.0, reduction: str = "mean", **params
) -> np.ndarray:
    """The exact vector-Jacobian product with respect to ``x``, rounded once to float64, of ``x``'s shape."""
    if name == "kl_divergence":
        return loss_options.gradients(name, x, target, grad_output, reduction, **params)
    if _class_loss(name, x, params):
        return class_losses.gradients(name, x, target, grad_output, reduction, **params)
    _check(name, reduction, params)
    x = np.asarray(x)
    with mpmath.workdps(DPS):
        local = _per_element(name, x, target, params, "derivative")
        g = np.asarray(grad_output, dtype=np.float64)
        count = len(local)
        if reduction == "none":
            upstream = [mpmath.mpf(float(v)) for v in g.ravel()]
        else:
            scale = mpmath.mpf(float(g)) / (count if reduction == "mean" else 1)
            upstream = [scale] * count
        if name.startswith("softmax"):
            out = [[float(d * u) for d in row] for row, u in zip(local, upstream)]
        else:
            out = [float(d * u) for d, u in zip(local, upstream)]
        return np.array(out, dtype=np.float64).reshape(x.shape)
