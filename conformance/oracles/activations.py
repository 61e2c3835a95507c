"""Exact values and derivatives of the activations: the spec formulas written again in SymPy, evaluated in mpmath.

Spec: docs/spec/activations.md. This module never imports ``nnspec.reference``: every formula below is
transcribed from the spec, every derivative comes from ``sympy.diff`` (for softmax and log-softmax, from the
symbolic Jacobian), and every value is computed in mpmath and rounded once to float64.

Kinks. relu and leaky_relu are ``Piecewise((x, x > 0), (slope * x, True))``. The strict condition ``x > 0``
gives the point x = 0 to the second branch, so ``sympy.diff`` yields ``Piecewise((1, x > 0), (slope, True))``
and the derivative at 0 is that branch's: relu'(0) = 0 and leaky_relu'(0) = negative_slope, the spec's
conventions. Softplus's threshold variant is ``Piecewise((x, x > t), (log(1 + exp(x)), True))`` in the same way.

Special inputs. NaN gives NaN (except where the result does not depend on x: identity's derivative is 1
everywhere). At x = ±inf the value and the derivative are the limits as x -> ±inf
(``sympy.limit``, taken branch by branch for a Piecewise), which is the spec's convention at infinities.

Conventions (docs/spec/activations.md): ``float32_slope`` rounds leaky_relu's slope to float32 before use;
``float32_constants`` (TensorFlow's GELU) is x * Phi(sqrt(2) c x) = x * erfc(-c x) / 2 with c = 1/sqrt(2) rounded to
float32, and the tanh form with 0.044715 rounded to float32; each rounded constant enters as its exact binary value.

gelu is x * Phi(x) with Phi a SymPy function of its own: the standard normal CDF, whose derivative is the
normal density and which rewrites to (1 + erf(x / sqrt 2)) / 2 (``expression(...).rewrite(sympy.erf)`` gives
the spec's formula). It is evaluated by ``mpmath.ncdf`` = erfc(-x / sqrt 2) / 2, because the erf form cancels to
nothing for x << 0 and would need hundreds of digits there (SymPy itself turns erfc(-t) back into 2 - erfc(t)).
mpmath's erfc raises OverflowError beyond |x| ~ 1e154, so ``_normal_cdf`` returns the limits 0 and 1 beyond
|x| = 1e150, where Phi(-|x|) < exp(-1e300) is far below anything float64 can hold, even multiplied by x.

Precision. The formulas are otherwise evaluated as written, so they cancel (1 + tanh(z) for z << 0) or absorb
(log(1 + exp(x)) for x << 0) like any float formula would; mpmath's unbounded exponent range and a working
precision raised until the result is settled make that harmless. ``_settled`` evaluates at 30, 60, 120, ...
digits and accepts a result once two successive precisions agree to 3 significant digits: the digits a
formula loses to cancellation are the same at both precisions, so the higher one then still has at least 33
correct digits. Two results that are both zero (or differ by less than half the smallest float64 subnormal)
are accepted only when the higher precision is 480 digits or more: a term t absorbed there by 1 + t is below
1e-480, which cannot move a result that float64 can represent (> 4.9e-324) unless a factor above 1e156
multiplies it, and none of these formulas has one where it cancels. 50 fixed digits would not do:
softplus(-120) = 7.7e-53 is lost in 1 + exp(-120) at 50 digits.
Results are cached per (primitive, parameters, input value): the suite's special values cost once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np

__all__ = [
    "NAMES",
    "expression",
    "values",
    "derivatives",
    "softmax_values",
    "log_softmax_values",
    "softmax_vjp",
    "log_softmax_vjp",
]

#: The elementwise activations and their parameters with the spec's defaults.
NAMES: dict[str, dict[str, Any]] = {
    "identity": {},
    "sigmoid": {},
    "tanh": {},
    "relu": {"nan_derivative": "nan"},
    "leaky_relu": {"negative_slope": 0.01, "float32_slope": False, "nan_derivative": "nan"},
    "softplus": {"threshold": None},
    "gelu": {"approximate": "none", "float32_constants": False},
    "gelu_tanh": {"approximate": "tanh", "float32_constants": False},
    "silu": {},
}

_PRECISIONS = (30, 60, 120, 240, 480, 960)  # decimal digits, tried in turn
_ZERO_FROM = 480  # digits from which a zero result (confirmed by the previous precision) is trusted
_HALF_SUBNORMAL = mpmath.mpf(2) ** -1075


def _params_key(name: str, params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Check ``name`` and ``params`` and return them, with defaults filled in, as a hashable key."""
    if name not in NAMES:
        raise ValueError(f"oracles.activations: name must be one of {', '.join(NAMES)}, got {name!r}")
    unknown = set(params) - set(NAMES[name])
    if unknown:
        raise TypeError(f"oracles.activations: {name} takes no parameter {', '.join(sorted(unknown))}")
    merged = {**NAMES[name], **params}
    for flag in ("float32_slope", "float32_constants"):
        if flag in merged and not isinstance(merged[flag], (bool, np.bool_)):
            raise TypeError(f"oracles.activations: {flag} must be a bool, got {type(merged[flag]).__name__}")
        if flag in merged:
            merged[flag] = bool(merged[flag])
    if "negative_slope" in merged:
        merged["negative_slope"] = float(merged["negative_slope"])
        if merged.pop("float32_slope"):  # the convention: the slope rounded to float32 before use
            merged["negative_slope"] = float(np.float32(merged["negative_slope"]))
    if merged.get("nan_derivative", "nan") not in ("nan", "positive", "negative"):
        raise ValueError("oracles.activations: nan_derivative must be 'nan', 'positive' or 'negative', "
                         f"got {merged['nan_derivative']!r}")
    if merged.get("threshold") is not None:
        merged["threshold"] = float(merged["threshold"])
    if merged.get("approximate", "none") not in ("none", "tanh"):
        raise ValueError(f"oracles.activations: approximate must be 'none' or 'tanh', got {merged['approximate']!r}")
    if name == "gelu_tanh" and merged["approximate"] != "tanh":
        raise ValueError("oracles.activations: gelu_tanh is the approximate='tanh' form")
    return tuple(sorted(merged.items()))


@functools.cache
def _expression(name: str, key: tuple[tuple[str, Any], ...]) -> tuple[Any, Any]:
    import sympy as sp

    params = dict(key)
    x = sp.Symbol("x", real=True)
    if name == "identity":
        expr = x
    elif name == "sigmoid":
        expr = 1 / (1 + sp.exp(-x))
    elif name == "tanh":
        expr = sp.tanh(x)
    elif name == "relu":
        expr = sp.Piecewise((x, x > 0), (0, True))
    elif name == "leaky_relu":
        # sympy.Rational of a float is its exact binary value: the slope the caller passed, not a decimal.
        expr = sp.Piecewise((x, x > 0), (sp.Rational(params["negative_slope"]) * x, True))
    elif name == "softplus":
        expr = sp.log(1 + sp.exp(x))
        if params["threshold"] is not None:
            expr = sp.Piecewise((x, x > sp.Rational(params["threshold"])), (expr, True))
    elif name == "silu":  # x * sigmoid(x), sigmoid as written above
        expr = x * (1 / (1 + sp.exp(-x)))
    elif params["approximate"] == "none":  # gelu; float32_constants: 0.5 erfc(-c x) = Phi(sqrt(2) c x)
        scale = sp.sqrt(2) * sp.Rational(float(np.float32(1 / np.sqrt(2)))) if params["float32_constants"] else 1
        expr = x * _normal_cdf_function()(scale * x)
    else:  # gelu_tanh, or gelu with approximate="tanh"; 0.044715 is the exact decimal of the spec
        cubic = sp.Rational(float(np.float32(0.044715))) if params["float32_constants"] else sp.Rational("0.044715")
        expr = x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + cubic * x**3)))
    return x, expr


def expression(name: str, **params: Any) -> tuple[Any, Any]:
    """The symbol x and the SymPy expression of the activation ``name`` with ``params``.

    Example:
        >>> x, expr = expression("leaky_relu", negative_slope=0.5)
        >>> expr
        Piecewise((x, x > 0), (x/2, True))
    """
    return _expression(name, _params_key(name, params))


@functools.cache
def _derivative(name: str, key: tuple[tuple[str, Any], ...], order: int) -> tuple[Any, Any]:
    """x and the expression (order 0) or its derivative (order 1)."""
    import sympy as sp

    x, expr = _expression(name, key)
    return x, sp.diff(expr, x, order) if order else expr


@functools.cache
def _compiled(name: str, key: tuple[tuple[str, Any], ...], order: int) -> Callable[[Any], Any]:
    """The expression (order 0) or its derivative (order 1), lambdified to mpmath."""
    import sympy as sp

    return sp.lambdify(*_derivative(name, key, order), modules=[{"Phi": _normal_cdf}, "mpmath"])


@functools.cache
def _normal_cdf_function() -> Any:
    """The SymPy function Phi: the standard normal CDF, (1 + erf(x / sqrt 2)) / 2."""
    import sympy as sp

    class Phi(sp.Function):
        def fdiff(self, argindex: int = 1) -> Any:
            (t,) = self.args
            return sp.exp(-(t**2) / 2) / sp.sqrt(2 * sp.pi)

        def _eval_rewrite_as_erf(self, t: Any, **hints: Any) -> Any:
            return (1 + sp.erf(t / sp.sqrt(2))) / 2

    return Phi


def _normal_cdf(t: Any) -> Any:
    """mpmath.ncdf, with its limits 0 and 1 beyond |t| = 1e150 where mpmath's erfc overflows."""
    if abs(t) > 1e150:
        return mpmath.mpf(1 if t > 0 else 0)
    return mpmath.ncdf(t)


def _limit(expr: Any, x: Any, point: Any) -> Any:
    import sympy as sp

    if isinstance(expr, sp.Piecewise):
        for piece, condition in expr.args:
            if condition.subs(x, point) is sp.true:
                return _limit(piece, x, point)
    # Phi as erf, tanh as exponentials: the same function, whose limit SymPy finds (faster)
    return sp.limit(expr.rewrite(sp.erf).rewrite(sp.exp), x, point)


@functools.cache
def _at_infinity(name: str, key: tuple[tuple[str, Any], ...], order: int, sign: int) -> float:
    import sympy as sp

    x, expr = _derivative(name, key, order)
    return float(_limit(expr, x, sign * sp.oo))


def _settled(evaluate: Callable[[], list[Any]]) -> list[Any]:
    """Evaluate at increasing precision until the results settle (the rule is in the module docstring)."""
    previous = None
    for digits in _PRECISIONS:
        with mpmath.workdps(digits):
            current = [mpmath.mpf(value) for value in evaluate()]
        if previous is not None and all(
            (b != 0 and abs(a - b) <= abs(b) / 1000) or (digits >= _ZERO_FROM and abs(a - b) <= _HALF_SUBNORMAL)
            for a, b in zip(previous, current)
        ):
            return current
        previous = current
    raise ArithmeticError("oracles.activations: the result did not settle at 960 digits")


@functools.lru_cache(maxsize=1 << 16)
def _at(name: str, key: tuple[tuple[str, Any], ...], order: int, value: float) -> float:
    """The value (order 0) or derivative (order 1) at one float64, rounded once to float64."""
    if np.isnan(value):  # NaN, unless the result does not depend on x (identity's derivative 1)
        branch = dict(key).get("nan_derivative", "nan")
        if order == 1 and branch != "nan":  # a framework's select: the branch x > 0 or the branch x <= 0
            x, expr = _derivative(name, key, order)
            return float(expr.subs(x, 1 if branch == "positive" else -1))
        x, expr = _derivative(name, key, order)
        return np.nan if x in expr.free_symbols else float(expr)
    if np.isinf(value):
        return _at_infinity(name, key, order, 1 if value > 0 else -1)
    function = _compiled(name, key, order)
    point = mpmath.mpf(value)  # exact: an mpf holds every float64 (and -0.0 as 0, the same value)
    return float(_settled(lambda: [function(point)])[0])


def _elementwise(name: str, x: np.ndarray, params: dict[str, Any], order: int) -> np.ndarray:
    key = _params_key(name, params)
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape, dtype=np.float64)
    for index, value in np.ndenumerate(x):
        out[index] = _at(name, key, order, float(value))
    return out


def values(name: str, x: np.ndarray, **params: Any) -> np.ndarray:
    """The activation ``name`` at each float64 input, exact and then rounded once to float64.

    Example:
        >>> values("softplus", np.array([0.0, -120.0])) == np.array([np.log(2.0), np.exp(-120.0)])
        array([ True,  True])
    """
    return _elementwise(name, x, params, order=0)


def derivatives(name: str, x: np.ndarray, **params: Any) -> np.ndarray:
    """The derivative d activation / dx at each float64 input, exact and then rounded once to float64.

    Example:
        >>> derivatives("relu", np.array([-1.0, 0.0, 2.0, np.inf]))
        array([0., 0., 1., 1.])
    """
    return _elementwise(name, x, params, order=1)


@functools.cache
def _row_functions(kind: str, n: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Lambdified forward and VJP of softmax or log-softmax for a row of n symbols.

    The VJP is g^T J with J the symbolic Jacobian d y_i / d x_j of the forward expressions, so it does not
    assume the closed forms y * (g - sum(g * y)) and g - softmax * sum(g) that the reference uses.
    """
    import sympy as sp

    xs = sp.symbols(f"x0:{n}", real=True)
    gs = sp.symbols(f"g0:{n}", real=True)
    total = sum(sp.exp(xi) for xi in xs)
    if kind == "softmax":
        forward = [sp.exp(xi) / total for xi in xs]
    else:
        forward = [xi - sp.log(total) for xi in xs]
    vjp = sp.Matrix([list(gs)]) * sp.Matrix(forward).jacobian(xs)
    return (
        sp.lambdify([xs], forward, modules="mpmath", cse=True),
        sp.lambdify([xs, gs], list(vjp), modules="mpmath", cse=True),
    )


def _row(function: str, name: str, row: np.ndarray) -> list[Any]:
    row = np.asarray(row, dtype=np.float64)
    if row.ndim != 1 or row.size == 0 or not np.all(np.isfinite(row)):
        raise ValueError(f"oracles.activations.{function}: {name} must be a non-empty finite 1-d row")
    return [mpmath.mpf(float(value)) for value in row]


def _rowwise(kind: str, x_row: np.ndarray, g_row: np.ndarray | None = None) -> np.ndarray:
    function = f"{kind}_values" if g_row is None else f"{kind}_vjp"
    xs = _row(function, "x_row", x_row)
    forward, vjp = _row_functions(kind, len(xs))
    if g_row is None:
        result = _settled(lambda: forward(xs))
    else:
        gs = _row(function, "g_row", g_row)
        if len(gs) != len(xs):
            raise ValueError(f"oracles.activations.{function}: g_row must have the length of x_row")
        result = _settled(lambda: vjp(xs, gs))
    return np.array([float(value) for value in result])


def softmax_values(x_row: np.ndarray) -> np.ndarray:
    """softmax of a finite 1-d row, exact and then rounded once to float64.

    Example:
        >>> softmax_values(np.array([0.0, np.log(3.0)]))
        array([0.25, 0.75])
    """
    return _rowwise("softmax", x_row)


def log_softmax_values(x_row: np.ndarray) -> np.ndarray:
    """log-softmax of a finite 1-d row, exact and then rounded once to float64.

    Example:
        >>> log_softmax_values(np.array([5.0, 5.0])) == -np.log(2.0)
        array([ True,  True])
    """
    return _rowwise("log_softmax", x_row)


def softmax_vjp(x_row: np.ndarray, g_row: np.ndarray) -> np.ndarray:
    """g^T J for the Jacobian J of softmax at a finite 1-d row, exact and then rounded once to float64.

    Example:
        >>> softmax_vjp(np.array([0.0, 0.0]), np.array([1.0, 3.0]))
        array([-0.5,  0.5])
    """
    return _rowwise("softmax", x_row, g_row)


def log_softmax_vjp(x_row: np.ndarray, g_row: np.ndarray) -> np.ndarray:
    """g^T J for the Jacobian J of log-softmax at a finite 1-d row, exact and then rounded once to float64.

    Example:
        >>> log_softmax_vjp(np.array([0.0, 0.0]), np.array([1.0, 3.0]))
        array([-1.,  1.])
    """
    return _rowwise("log_softmax", x_row, g_row)
