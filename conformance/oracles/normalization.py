"""Exact values and vector-Jacobian products of the normalization layers: the spec's formula written again in
SymPy, differentiated by ``sympy.diff`` and evaluated in mpmath.

Spec: docs/spec/normalization.md. This module never imports ``nnspec.reference``. For one group of n values
(a row of layer_norm, a channel of batch_norm), with a weight and a bias per position:

    mean = sum(x) / n,  variance = sum((x - mean)**2) / n,  y = (x - mean) / sqrt(variance + eps) * w + b

The VJP is the gradient of L = sum(g * y) with respect to every x_j, w_j and b_j, derived symbolically: it does
not assume the closed form (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat)) / sqrt(variance + eps) the reference
uses. batch_norm's weight and bias are shared by the N positions of a channel, so their gradients are the sums of
the per-position ones (the chain rule through a broadcast). Values are computed at 40, 80, 160 digits until two
successive precisions agree to 12 significant digits (the cancellation of x - mean is the same at both), or
differ by less than 1e-30 (an exact zero, e.g. a gradient along the shift direction, comes out as noise of
10**-digits times the size of the cancelling terms; the higher precision's noise is then below 1e-70 times
them, far below any budget, which is at least u times them), then rounded once to float64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np

__all__ = ["layer_norm_values", "layer_norm_vjp", "batch_norm_values", "batch_norm_vjp"]

_PRECISIONS = (40, 80, 160, 320)
_AGREE = mpmath.mpf(10) ** -12
#: An exact zero computed in mpmath is noise of 10**-digits times its terms (module docstring).
_ZERO = mpmath.mpf(10) ** -30


@functools.cache
def _group_functions(n: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Lambdified y(x, w, b, eps) and the gradient of sum(g * y) for a group of n symbols."""
    import sympy as sp

    xs, ws, bs, gs = (sp.symbols(f"{name}0:{n}", real=True) for name in "xwbg")
    eps = sp.Symbol("eps", nonnegative=True)
    mean = sum(xs) / n
    variance = sum((xi - mean) ** 2 for xi in xs) / n
    ys = [(xi - mean) / sp.sqrt(variance + eps) * wi + bi for xi, wi, bi in zip(xs, ws, bs)]
    loss = sum(gi * yi for gi, yi in zip(gs, ys))
    gradient = [sp.diff(loss, s) for s in (*xs, *ws, *bs)]
    return (sp.lambdify([xs, ws, bs, eps], ys, modules="mpmath", cse=True),
            sp.lambdify([xs, ws, bs, eps, gs], gradient, modules="mpmath", cse=True))


def _settled(evaluate: Callable[[], list[Any]]) -> np.ndarray:
    previous = None
    for digits in _PRECISIONS:
        with mpmath.workdps(digits):
            current = [mpmath.mpf(value) for value in evaluate()]
        if previous is not None and all(abs(a - b) <= max(abs(b) * _AGREE, _ZERO) for a, b in zip(previous, current)):
            return np.array([float(value) for value in current])
        previous = current
    raise ArithmeticError("oracles.normalization: the result did not settle at 320 digits")


def _mp(values: np.ndarray) -> list[Any]:
    return [mpmath.mpf(float(v)) for v in np.asarray(values, dtype=np.float64).ravel()]


def _group_values(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    forward, _ = _group_functions(len(x))
    return _settled(lambda: forward(_mp(x), _mp(w), _mp(b), mpmath.mpf(eps)))


def _group_vjp(x, w, b, eps: float, g) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(x)
    _, vjp = _group_functions(n)
    gradient = _settled(lambda: vjp(_mp(x), _mp(w), _mp(b), mpmath.mpf(eps), _mp(g)))
    return gradient[:n], gradient[n:2 * n], gradient[2 * n:]


def _finite(function: str, **arrays: np.ndarray) -> None:
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise ValueError(f"oracles.normalization.{function}: {name} must be finite")


def layer_norm_values(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """layer_norm of every row of x (..., n), exact and then rounded once to float64.

    Example:
        >>> layer_norm_values(np.array([[1.0, 3.0]]), np.array([1.0, 2.0]), np.array([0.0, 10.0]), 0.0)
        array([[-1., 12.]])
    """
    _finite("layer_norm_values", x=x, weight=weight, bias=bias)
    rows = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
    return np.array([_group_values(row, weight, bias, eps) for row in rows]).reshape(np.shape(x))


def layer_norm_vjp(x, weight, bias, eps: float, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_x, grad_weight, grad_bias) of layer_norm: weight and bias gradients summed over the rows.

    Example:
        >>> layer_norm_vjp(np.array([[1.0, 3.0]]), np.ones(2), np.zeros(2), 0.0, np.array([[1.0, 2.0]]))[1]
        array([-1.,  2.])
    """
    _finite("layer_norm_vjp", x=x, weight=weight, bias=bias, grad_output=grad_output)
    n = np.shape(x)[-1]
    rows = zip(np.reshape(x, (-1, n)), np.reshape(grad_output, (-1, n)))
    parts = [_group_vjp(row, weight, bias, eps, g) for row, g in rows]
    return (np.array([p[0] for p in parts]).reshape(np.shape(x)), np.sum([p[1] for p in parts], axis=0),
            np.sum([p[2] for p in parts], axis=0))


def batch_norm_values(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Training-mode batch_norm of x (N, C): every channel over the batch, exact and then rounded to float64.

    Example:
        >>> batch_norm_values(np.array([[1.0], [3.0]]), np.array([2.0]), np.array([1.0]), 0.0)
        array([[-1.],
               [ 3.]])
    """
    _finite("batch_norm_values", x=x, weight=weight, bias=bias)
    count = np.shape(x)[0]
    columns = [_group_values(column, np.full(count, w), np.full(count, b), eps)
               for column, w, b in zip(np.transpose(x), weight, bias)]
    return np.transpose(np.array(columns))


def batch_norm_vjp(x, weight, bias, eps: float, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_x, grad_weight, grad_bias) of training-mode batch_norm; a channel's shared weight and bias take the
    sum of their per-position gradients.

    Example:
        >>> batch_norm_vjp(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), 0.0, np.array([[1.0], [2.0]]))[1]
        array([1.])
    """
    _finite("batch_norm_vjp", x=x, weight=weight, bias=bias, grad_output=grad_output)
    count = np.shape(x)[0]
    parts = [_group_vjp(column, np.full(count, w), np.full(count, b), eps, g)
             for column, w, b, g in zip(np.transpose(x), weight, bias, np.transpose(grad_output))]
    return (np.transpose(np.array([p[0] for p in parts])), np.array([np.sum(p[1]) for p in parts]),
            np.array([np.sum(p[2]) for p in parts]))
