"""Exact optimizer steps and trajectories: the spec's update equations written again in SymPy.

Spec: docs/spec/optimizers.md

This is the second, independent writing of docs/spec/optimizers.md; it never imports ``nnspec.reference``.
Where the spec gives two equivalent forms, this file takes the paper's (Adam's m_hat and v_hat, Kingma & Ba
Algorithm 1; NAdam's m_hat, Dozat 2016) and the reference takes PyTorch's execution order.

Trajectories on the quadratic f(theta) = a/2 * theta**2 (closed forms, matrix powers) are in
``conformance/oracles/quadratic.py``.

Steps: for each optimizer and each convention, the parameter after every step and the final state as SymPy
   expressions of the symbols ``theta``, ``g1`` .. ``gn`` and the hyperparameters (named as the reference's
   keywords; Adam-family ``betas`` become ``beta1`` and ``beta2``). They are evaluated at 50 digits by a walk
   over the expression tree that also carries a first-order running error bound (Wilkinson; Higham, Accuracy
   and Stability of Numerical Algorithms, 2nd ed., section 3.3): every operation of the formula adds at most
   u times its result, and an argument's error is carried by the operation's derivative. ``bound`` is that
   error for unit roundoff u, an estimate of what any evaluation of the same formula in that precision may
   lose, so budgets built on it are in units of rounding, never fixed tolerances.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

__all__ = ["DPS", "OPTIMIZERS", "step_expressions", "exact_steps"]

DPS = 50
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam", "lion")
_HYPER = ("lr", "momentum", "dampening", "weight_decay", "beta1", "beta2", "eps", "alpha", "rho", "lr_decay",
          "initial_accumulator_value", "momentum_decay")
_S = {name: sp.Symbol(name, real=True) for name in _HYPER}


# --- 1. the spec's equations, one optimizer per function -----------------------------------------------------


def _decay(theta, g, step_size, v):
    """Weight decay: added to the gradient ("coupled") or taken from the parameter ("decoupled")."""
    if v["weight_decay_mode"] == "coupled":
        return theta, g + _S["weight_decay"] * theta
    return theta - step_size * _S["weight_decay"] * theta, g


def _sgd(theta, grads, v):
    lr, mu, tau = _S["lr"], _S["momentum"], _S["dampening"]
    out, buf = {}, sp.Integer(0)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, lr, v)
        if not v["uses_momentum"]:
            theta = theta - lr * g
        elif v["momentum_buffer"] == "lr_scaled":  # Keras: velocity = momentum * velocity - lr * g
            buf = mu * buf - lr * (1 - tau) * g
            theta = theta + (mu * buf - lr * g if v["nesterov"] else buf)
        else:
            raw_first = t == 1 and v["momentum_buffer"] == "raw_gradient_first_step_undampened"
            buf = g if raw_first else mu * buf + (1 - tau) * g
            theta = theta - lr * (g + mu * buf if v["nesterov"] else buf)
        out[f"param_{t}"] = theta
    if v["uses_momentum"]:
        out["momentum_buffer"] = buf
    return out


def _adagrad(theta, grads, v):
    out, total = {}, _S["initial_accumulator_value"]
    for t, g in enumerate(grads, 1):
        clr = _S["lr"] / (1 + (t - 1) * _S["lr_decay"])
        theta, g = _decay(theta, g, clr, v)
        total = total + g**2
        root = sp.sqrt(total) + _S["eps"] if v["eps_placement"] == "outside_sqrt" else sp.sqrt(total + _S["eps"])
        theta = theta - clr * g / root
        out[f"param_{t}"] = theta
    return {**out, "sum": total}


def _rmsprop(theta, grads, v):
    lr, alpha, mu = _S["lr"], _S["alpha"], _S["momentum"]
    out, square, mean, buf = {}, sp.Integer(0), sp.Integer(0), sp.Integer(0)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, lr, v)
        square = alpha * square + (1 - alpha) * g**2
        mean = alpha * mean + (1 - alpha) * g
        variance = square - mean**2 if v["centered"] else square
        rms = sp.sqrt(variance) + _S["eps"] if v["eps_placement"] == "outside_sqrt" else sp.sqrt(variance + _S["eps"])
        if not v["uses_momentum"]:
            theta = theta - lr * g / rms
        elif v["momentum_buffer"] == "unscaled":
            buf = mu * buf + g / rms
            theta = theta - lr * buf
        else:
            buf = mu * buf + lr * g / rms
            theta = theta - buf
        out[f"param_{t}"] = theta
    out["square_avg"] = square
    if v["centered"]:
        out["grad_avg"] = mean
    if v["uses_momentum"]:
        out["momentum_buffer"] = buf
    return out


def _adadelta(theta, grads, v):
    rho, eps = _S["rho"], _S["eps"]
    out, square, deltas = {}, sp.Integer(0), sp.Integer(0)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, _S["lr"], v)
        square = rho * square + (1 - rho) * g**2
        delta = sp.sqrt(deltas + eps) / sp.sqrt(square + eps) * g  # RMS[dx]_{t-1} / RMS[g]_t * g (Zeiler, Alg. 1)
        deltas = rho * deltas + (1 - rho) * delta**2
        theta = theta - _S["lr"] * delta
        out[f"param_{t}"] = theta
    return {**out, "square_avg": square, "acc_delta": deltas}


def _adam(theta, grads, v):
    lr, beta1, beta2, eps = _S["lr"], _S["beta1"], _S["beta2"], _S["eps"]
    out, m, s, s_max = {}, sp.Integer(0), sp.Integer(0), sp.Integer(0)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, lr, v)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if not v["amsgrad"]:
            s_raw = s
            s_hat = s / (1 - beta2**t)
        elif v["amsgrad_max_of"] == "raw_v":  # Reddi et al. Alg. 2 keeps the max of v, corrected afterwards
            s_raw = s_max = sp.Max(s_max, s)
            s_hat = s_max / (1 - beta2**t)
        else:  # optax: the max of the bias-corrected v
            s_max = sp.Max(s_max, s / (1 - beta2**t))
            s_hat = s_max
        if v["eps_placement"] == "outside_sqrt":
            theta = theta - lr * m_hat / (sp.sqrt(s_hat) + eps)
        elif v["eps_placement"] == "inside_sqrt":
            theta = theta - lr * m_hat / sp.sqrt(s_hat + eps)
        else:  # Kingma & Ba, end of section 2: alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), eps-hat
            theta = theta - lr * sp.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sp.sqrt(s_raw) + eps)
        out[f"param_{t}"] = theta
    out.update(exp_avg=m, exp_avg_sq=s)
    if v["amsgrad"]:
        out["max_exp_avg_sq"] = s_max
    return out


def _adamw(theta, grads, v):
    return _adam(theta, grads, {**v, "weight_decay_mode": "decoupled"})


def _adamax(theta, grads, v):
    lr, beta1, beta2, eps = _S["lr"], _S["beta1"], _S["beta2"], _S["eps"]
    out, m, norm = {}, sp.Integer(0), sp.Integer(0)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, lr, v)
        m = beta1 * m + (1 - beta1) * g
        if v["eps_placement"] == "in_max":
            norm = sp.Max(beta2 * norm, sp.Abs(g) + eps)
            theta = theta - (lr / (1 - beta1**t)) * m / norm
        else:
            norm = sp.Max(beta2 * norm, sp.Abs(g))
            theta = theta - (lr / (1 - beta1**t)) * m / (norm + eps)
        out[f"param_{t}"] = theta
    return {**out, "exp_avg": m, "exp_inf": norm}


def _nadam(theta, grads, v):
    lr, beta1, beta2, eps = _S["lr"], _S["beta1"], _S["beta2"], _S["eps"]

    def mu(t):  # Dozat's schedule mu_t = beta1 * (1 - 0.96^(t psi) / 2), or optax's constant beta1
        if v["momentum_schedule"] == "constant":
            return beta1
        return beta1 * (1 - sp.Rational(1, 2) * sp.Rational(24, 25) ** (t * _S["momentum_decay"]))

    out, m, s, product = {}, sp.Integer(0), sp.Integer(0), sp.Integer(1)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, lr, v)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        product_next = product * mu(t) * mu(t + 1)
        product = product * mu(t)
        m_hat = mu(t + 1) * m / (1 - product_next) + (1 - mu(t)) * g / (1 - product)
        theta = theta - lr * m_hat / (sp.sqrt(s / (1 - beta2**t)) + eps)
        out[f"param_{t}"] = theta
    return {**out, "exp_avg": m, "exp_avg_sq": s, "mu_product": product}


def _lion(theta, grads, v):
    lr, beta1, beta2 = _S["lr"], _S["beta1"], _S["beta2"]
    out, m = {}, sp.Integer(0)
    for t, g in enumerate(grads, 1):
        theta, g = _decay(theta, g, lr, v)
        theta = theta - lr * sp.sign(beta1 * m + (1 - beta1) * g)  # Chen et al. 2023, Algorithm 2
        m = beta2 * m + (1 - beta2) * g
        out[f"param_{t}"] = theta
    return {**out, "exp_avg": m}


_EQUATIONS = {"sgd": _sgd, "adagrad": _adagrad, "rmsprop": _rmsprop, "adadelta": _adadelta, "adam": _adam,
              "adamw": _adamw, "adamax": _adamax, "nadam": _nadam, "lion": _lion}


@functools.cache
def _cached(optimizer: str, variant: tuple, n_steps: int) -> dict[str, sp.Expr]:
    grads = sp.symbols(f"g1:{n_steps + 1}", real=True)
    return _EQUATIONS[optimizer](sp.Symbol("theta", real=True), grads, dict(variant))


def step_expressions(optimizer: str, variant: Mapping[str, object], n_steps: int = 2) -> dict[str, sp.Expr]:
    """SymPy expressions of ``param_1`` .. ``param_n`` and of the state after n steps (PyTorch's names).

    ``variant`` holds the convention keywords of the reference plus the structural switches
    ``uses_momentum`` (SGD, RMSprop: momentum != 0), ``nesterov``, ``centered`` and ``amsgrad``.
    """
    if optimizer not in _EQUATIONS:
        raise ValueError(f"step_expressions: optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    return _cached(optimizer, tuple(sorted(variant.items())), n_steps)


# --- 2. evaluation at 50 digits with a running error bound ---------------------------------------------------
# Each rule maps a node and its arguments' (value, error / u) pairs to the node's pair. An operation adds |result|
# (one rounding), and carries each argument's error by the magnitude of its partial derivative.


def _add(node, args, u):
    value = mpmath.fsum(v for v, _ in args)
    return value, mpmath.fsum(e for _, e in args) + (len(args) - 1) * mpmath.fsum(abs(v) for v, _ in args)


def _mul(node, args, u):
    value = mpmath.fprod(v for v, _ in args)
    carried = mpmath.fsum(e * mpmath.fprod(abs(w) for j, (w, _) in enumerate(args) if j != i)
                          for i, (_, e) in enumerate(args))
    return value, carried + (len(args) - 1) * abs(value)


def _pow(node, args, u):
    (b, e_b), (x, e_x) = args
    if node.exp == sp.Rational(1, 2):
        if b < 0:
            return mpmath.mpf("nan"), mpmath.mpf(0)
        value = mpmath.sqrt(b)  # |sqrt(b + d) - sqrt(b)| <= min(|d| / (2 sqrt b), sqrt|d|)
        carried = mpmath.sqrt(e_b / u) if value == 0 else min(e_b / (2 * value), mpmath.sqrt(e_b / u))
        return value, carried + value
    if node.exp.is_Integer:
        k = int(node.exp)
        value = b**k
        return value, abs(k) * abs(b) ** (k - 1) * e_b + (1 if abs(k) == 1 else 2) * abs(value)
    value = b**x  # a symbolic exponent: NAdam's 0.96**(t * momentum_decay)
    return value, abs(value) * (abs(x) * e_b / abs(b) + abs(mpmath.log(b)) * e_x + 2)


def _max(node, args, u):
    return max(v for v, _ in args), max(e for _, e in args)


def _abs(node, args, u):
    return abs(args[0][0]), args[0][1]


def _sign(node, args, u):
    """Exact where the argument is farther from 0 than its error (an exact 0 with no error: sign 0); else either
    sign may come out, 2 (in units of u: 2 / u). The argument's error is widened 4-fold, for evaluation orders other
    than the expression tree's."""
    (x, e), sign = args[0], mpmath.sign(args[0][0])
    return sign, (2 / u if e > 0 and abs(x) <= 4 * e * u else mpmath.mpf(0))


def _number(node, args, u):
    value = mpmath.mpf(node.p) / node.q if node.is_Rational else mpmath.mpf(str(node))
    inexact = mpmath.mpf(float(value)) != value  # a constant the code holds rounded, e.g. 0.96
    return value, abs(value) if inexact else mpmath.mpf(0)


def _rule(node: sp.Expr):
    if node.is_Number:
        return _number
    for test, rule in ((node.is_Add, _add), (node.is_Mul, _mul), (node.is_Pow, _pow),
                       (isinstance(node, sp.Max), _max), (isinstance(node, sp.Abs), _abs),
                       (isinstance(node, sp.sign), _sign)):
        if test:
            return rule
    raise NotImplementedError(f"no rounding rule for {type(node).__name__}")


@functools.cache
def _program(optimizer: str, variant: tuple, n_steps: int) -> tuple[list, dict[str, int]]:
    """The outputs' expression DAG in evaluation order (each distinct subexpression once), and the outputs."""
    order, index = [], {}

    def visit(node):
        if node not in index:
            args = [] if node.is_Symbol or node.is_Number else [visit(arg) for arg in node.args]
            index[node] = len(order)
            order.append((node, None if node.is_Symbol else _rule(node), args))
        return index[node]

    outputs = {name: visit(expr) for name, expr in _cached(optimizer, variant, n_steps).items()}
    return order, outputs


def _evaluate(order: list, env: Mapping[str, tuple], u) -> list[tuple]:
    pairs = []
    for node, rule, args in order:
        pairs.append(env[node.name] if rule is None else rule(node, [pairs[j] for j in args], u))
    return pairs


def exact_steps(optimizer: str, variant: Mapping[str, object], theta: np.ndarray, grads: Sequence[np.ndarray],
                hyper: Mapping[str, object], *, u: float = 2.0**-53,
                inputs_rounded: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each output of ``step_expressions`` at these inputs, element by element: (exact value, error bound).

    Args:
        theta, grads: float64 arrays of one shape; grads[i] is the gradient of step i + 1.
        hyper: the hyperparameters by the reference's keyword names (``betas`` is split into beta1, beta2).
        u: the unit roundoff of the precision whose rounding ``bound`` estimates.
        inputs_rounded: count one rounding of every input (a float32 run holds lr = 0.1 rounded).

    Returns:
        ``{name: (value, bound)}``: float64 arrays, the 50-digit value rounded once and ``bound`` = error * u.
    """
    values = dict(hyper)
    if "betas" in values:
        values["beta1"], values["beta2"] = values.pop("betas")
    order, outputs = _program(optimizer, tuple(sorted(variant.items())), len(grads))
    theta = np.asarray(theta, dtype=np.float64)
    results = {name: (np.empty(theta.shape), np.empty(theta.shape)) for name in outputs}
    with mpmath.workdps(DPS):
        for index in np.ndindex(theta.shape):
            inputs = {"theta": theta[index], **{f"g{i + 1}": g[index] for i, g in enumerate(grads)}, **values}
            env = {k: (mpmath.mpf(float(x)), abs(mpmath.mpf(float(x))) if inputs_rounded else mpmath.mpf(0))
                   for k, x in inputs.items()}
            pairs = _evaluate(order, env, mpmath.mpf(u))
            for name, position in outputs.items():
                value, error = pairs[position]
                results[name][0][index] = float(value)
                results[name][1][index] = float(error * u)
    return results
