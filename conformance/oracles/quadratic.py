"""Exact trajectories on the quadratic f(theta) = a/2 * theta**2 (gradient a * theta), for SGD's conventions.

Spec: docs/spec/optimizers.md#sgd

The second, independent writing of SGD's momentum recurrences (it never imports ``nnspec.reference``); split from
``conformance/oracles/optimizers.py``, whose step equations and 50-digit evaluation it shares no code with:

- plain gradient descent: ``sympy.rsolve`` of theta_{n+1} = (1 - lr*a) theta_n;
- heavy-ball momentum: ``sympy.rsolve`` of its second-order recurrence (valid from n = 2 on),
  theta_{n+2} = (1 + momentum - lr*(1 - dampening)*a) theta_{n+1} - momentum * theta_n;
- every momentum convention (Nesterov included) as exact rational powers of the 2x2 matrix of the linear
  map (theta, buf) -> (theta', buf'), with a first-order bound on the rounding error of a float run.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import sympy as sp

__all__ = ["gradient_descent_closed_form", "heavy_ball_closed_form", "momentum_trajectory"]

_S = {name: sp.Symbol(name, real=True) for name in ("lr", "momentum", "dampening")}
_n = sp.Symbol("n", integer=True, nonnegative=True)
_theta0, _theta1, _a = sp.symbols("theta0 theta1 a", real=True)


# --- trajectories on f(theta) = a/2 theta^2 --------------------------------------------------------------------


@functools.cache
def gradient_descent_closed_form() -> sp.Expr:
    """theta_n of plain gradient descent, by rsolve: theta0 * (1 - a*lr)**n (symbols theta0, a, lr, n)."""
    theta = sp.Function("theta")
    return sp.rsolve(theta(_n + 1) - (1 - _S["lr"] * _a) * theta(_n), theta(_n), {theta(0): _theta0})


@functools.cache
def heavy_ball_closed_form() -> sp.Expr:
    """theta_n of heavy-ball momentum for n >= 0 given theta_0 = theta0 and theta_1 = theta1 (the first step,
    which the conventions take differently), by rsolve of the recurrence that holds from n = 2 on. Symbols
    theta0, theta1, a, lr, momentum, dampening, n. Valid where the characteristic roots differ."""
    theta, mu, tau = sp.Function("theta"), _S["momentum"], _S["dampening"]
    recurrence = theta(_n + 2) - (1 + mu - _S["lr"] * (1 - tau) * _a) * theta(_n + 1) + mu * theta(_n)
    return sp.rsolve(recurrence, theta(_n), {theta(0): _theta0, theta(1): _theta1})


def momentum_trajectory(a: float, lr: float, momentum: float, dampening: float, theta0: float, n_steps: int,
                        momentum_buffer: str, nesterov: bool = False) -> dict[str, list]:
    """Exact theta_k and buffer_k for k = 1..n of SGD with momentum on a/2 theta^2: x_k = M^(k-1) x_1, exactly.

    The state x = (theta, b), with b in PyTorch's units, evolves linearly: x_k = M x_{k-1} from x_0 = (theta0, 0),
    b_k = momentum b_{k-1} + (1 - dampening) a theta_{k-1}, theta_k = theta_{k-1} - lr b_k (Nesterov:
    theta_{k-1} - lr (a theta_{k-1} + momentum b_k)); PyTorch's first step b_1 = a theta_0 has its own matrix.
    Keras's buffer is -lr b (the same trajectory while lr is constant).

    Returns:
        ``{"theta": [...], "buffer": [...], "theta_bound": [...], "buffer_bound": [...]}`` for k = 1..n: exact
        Fractions (the buffer in the convention's units), and bounds in units of u: a first-order bound on the
        error of a float run that computes g = a * theta and then one step, each step adding 2 * (the magnitudes
        of its terms) and carrying earlier errors by |M| (|M^k| <= |M|^k elementwise).
    """
    a, lr, mu, tau, theta0 = (Fraction(x) for x in (a, lr, momentum, dampening, theta0))
    if nesterov:
        matrix = ((1 - lr * a * (1 + mu), -lr * mu**2), (a, mu))
    else:
        matrix = ((1 - lr * (1 - tau) * a, -lr * mu), ((1 - tau) * a, mu))
    first = matrix
    if momentum_buffer == "raw_gradient_first_step_undampened" and not nesterov:
        first = ((1 - lr * a, Fraction(0)), (a, Fraction(0)))
    carry = np.abs(np.array(matrix, dtype=float))
    buffer_scale = -lr if momentum_buffer == "lr_scaled" else Fraction(1)
    out, error = {"theta": [], "buffer": [], "theta_bound": [], "buffer_bound": []}, np.zeros(2)
    previous, x = (theta0, Fraction(0)), _apply(first, (theta0, Fraction(0)))  # x_1 = first x_0, x_k = M x_{k-1}
    for _ in range(n_steps):
        theta_before, buf_before = abs(float(previous[0])), abs(float(previous[1]))
        g, buf = abs(float(a)) * theta_before, abs(float(x[1]))
        local = 2 * np.array([theta_before + float(lr) * (buf + 2 * g), float(mu) * buf_before + g + buf])
        error = carry @ error + local
        out["theta"].append(x[0])
        out["buffer"].append(buffer_scale * x[1])
        out["theta_bound"].append(float(error[0]))
        out["buffer_bound"].append(float(abs(buffer_scale)) * float(error[1]))
        previous, x = x, _apply(matrix, x)
    return out


def _apply(matrix, x):
    """A 2x2 rational matrix times a 2-vector, exactly."""
    return tuple(row[0] * x[0] + row[1] * x[1] for row in matrix)
