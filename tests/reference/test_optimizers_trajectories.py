"""Closed forms and symbolic facts behind reference/optimizers (docs/spec/optimizers.md).

Oracles (nnspec.conformance.oracles.quadratic and .optimizers, independent of the reference):
- on f(theta) = a/2 theta^2, plain gradient descent is theta0 (1 - lr a)^n (sympy.rsolve), and SGD with momentum
  in every convention is an exact rational matrix power; the two oracles agree exactly with each other and
  with rsolve's heavy-ball closed form;
- the symbolic first step of Adam simplifies to the paper's -lr * g / (|g| + eps) (or its eps-hat form).

Budgets: SAFETY * bound + errormodel.UNDERFLOW_FLOOR * tiny, where ``bound`` is the oracle's first-order error bound
of a float64 run (each step's roundings carried forward by |M|), in units of float64 rounding. Hand-checked
values are compared within a few units of rounding of the value itself.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import errormodel
from nnspec.conformance.oracles import optimizers as oracle
from nnspec.conformance.oracles import quadratic
from nnspec.reference import dtypes
from nnspec.reference.optimizers import adam, adamw, nadam, profiles, sgd

U = dtypes.FLOAT64.unit_roundoff
SAFETY = 4.0
FLOOR = errormodel.UNDERFLOW_FLOOR * dtypes.FLOAT64.tiny
BUFFERS = ("raw_gradient_first_step_undampened", "zero_init", "lr_scaled")


def _close(observed: float, expected: float, ulps: int = 4) -> bool:
    """Within a few float64 roundings of a hand-checked value."""
    return abs(observed - expected) <= ulps * U * abs(expected)


@st.composite
def quadratics(draw) -> dict:
    """A curvature a, a learning rate with lr * a in (0, 2) (a stable step), theta0 and a number of steps.

    |theta0| is 0 or >= 1e-3: a subnormal theta0 has a 2**-1074 denominator, and exact powers of it explode.
    """
    a = draw(st.floats(0.1, 10.0))
    theta0 = draw(st.just(0.0) | st.floats(1e-3, 10.0)) * draw(st.sampled_from([-1.0, 1.0]))
    return {"a": a, "lr": draw(st.floats(0.01, 1.9)) / a, "theta0": theta0,
            "n": draw(st.integers(1, 25))}


def _sgd_run(q: dict, **hyper) -> tuple[list[float], list[np.ndarray | None]]:
    theta = np.array(q["theta0"])
    state = sgd.init(theta, lr=q["lr"], **hyper)
    thetas, buffers = [], []
    for _ in range(q["n"]):
        theta, state = sgd.step(theta, q["a"] * theta, state, lr=q["lr"], **hyper)
        thetas.append(float(theta))
        buffers.append(state.momentum_buffer)
    return thetas, buffers


@given(q=quadratics())
def test_sgd_matches_gradient_descent_closed_form(q):
    closed = quadratic.gradient_descent_closed_form()
    values = {sp.Symbol("theta0", real=True): sp.Rational(Fraction(q["theta0"])),
              sp.Symbol("a", real=True): sp.Rational(Fraction(q["a"])),
              sp.Symbol("lr", real=True): sp.Rational(Fraction(q["lr"]))}
    exact = Fraction(str(closed.subs(values).subs(sp.Symbol("n", integer=True, nonnegative=True), q["n"])))
    powers = quadratic.momentum_trajectory(q["a"], q["lr"], 0.0, 0.0, q["theta0"], q["n"], "zero_init")
    assert exact == powers["theta"][-1], "rsolve's closed form and the matrix power disagree"
    observed = _sgd_run(q)[0][-1]
    budget = SAFETY * powers["theta_bound"][-1] * U + FLOOR
    assert abs(observed - float(exact)) <= budget, f"theta_n {observed!r}, exact {float(exact)!r}"


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum_buffer", BUFFERS)
@given(q=quadratics(), momentum=st.floats(0.05, 0.99), dampening=st.just(0.0) | st.floats(0.01, 0.9))
def test_sgd_momentum_matches_matrix_powers(momentum_buffer, nesterov, q, momentum, dampening):
    dampening = 0.0 if nesterov else dampening
    thetas, buffers = _sgd_run(q, momentum=momentum, dampening=dampening, nesterov=nesterov,
                               momentum_buffer=momentum_buffer)
    exact = quadratic.momentum_trajectory(q["a"], q["lr"], momentum, dampening, q["theta0"], q["n"],
                                       momentum_buffer, nesterov)
    for k in range(q["n"]):
        theta_budget = SAFETY * exact["theta_bound"][k] * U + FLOOR
        assert abs(thetas[k] - float(exact["theta"][k])) <= theta_budget, f"theta_{k + 1}"
        buffer_budget = SAFETY * exact["buffer_bound"][k] * U + FLOOR
        assert abs(float(buffers[k]) - float(exact["buffer"][k])) <= buffer_budget, f"buffer_{k + 1}"


@pytest.mark.parametrize("a, lr, momentum, dampening", [
    (Fraction(3, 2), Fraction(1, 10), Fraction(9, 10), Fraction(0)),     # complex roots: an oscillating approach
    (Fraction(1), Fraction(1, 2), Fraction(1, 10), Fraction(1, 4)),      # real roots, dampened
    (Fraction(4), Fraction(1, 5), Fraction(1, 2), Fraction(1, 2)),       # a negative root
])
@pytest.mark.parametrize("momentum_buffer", ["raw_gradient_first_step_undampened", "zero_init"])
def test_heavy_ball_closed_form_matches_matrix_powers(a, lr, momentum, dampening, momentum_buffer):
    """rsolve's heavy-ball solution, started from each convention's theta_1, against exact matrix powers."""
    theta0, n = Fraction(1), 12
    powers = quadratic.momentum_trajectory(a, lr, momentum, dampening, theta0, n, momentum_buffer)
    names = ("theta0", "theta1", "a", "lr", "momentum", "dampening")
    symbols = {name: sp.Symbol(name, real=True) for name in names}
    values = dict(zip(names, (theta0, powers["theta"][0], a, lr, momentum, dampening)))
    closed = quadratic.heavy_ball_closed_form().subs({symbols[k]: sp.Rational(v) for k, v in values.items()})
    with mpmath.workdps(oracle.DPS):
        for k in range(1, n + 1):
            value = sp.N(closed.subs(sp.Symbol("n", integer=True, nonnegative=True), k), oracle.DPS)
            assert abs(complex(value - sp.Rational(powers["theta"][k - 1]))) < 1e-40, f"theta_{k}"


def test_sgd_lr_scaled_buffer_differs_when_lr_changes():
    """Hand-checked: theta0 = 0, g = (1, 0), lr = (1, 0.5), momentum 0.5. PyTorch: b = (1, 0.5), theta2 =
    -1 - 0.5*0.5 = -1.25. Keras: m = (-1, -0.5), theta2 = -1.5: its buffer keeps the first step's lr."""
    results = {}
    for buffer in ("raw_gradient_first_step_undampened", "lr_scaled"):
        theta, state = np.array([0.0]), sgd.init(np.array([0.0]), momentum=0.5, momentum_buffer=buffer)
        for g, lr in ((1.0, 1.0), (0.0, 0.5)):
            theta, state = sgd.step(theta, np.array([g]), state, lr=lr, momentum=0.5, momentum_buffer=buffer)
        results[buffer] = float(theta[0])
    assert results == {"raw_gradient_first_step_undampened": -1.25, "lr_scaled": -1.5}


@pytest.mark.parametrize("eps_placement", ["outside_sqrt", "eps_hat"])
def test_adam_first_step_symbolic(eps_placement):
    """The oracle's first step is the paper's: -lr g / (|g| + eps), or -lr sqrt(c) g / (sqrt(c)|g| + eps) with
    c = 1 - beta2 for the eps-hat form (Kingma & Ba, Algorithm 1 and section 2)."""
    variant = {"amsgrad": False, "eps_placement": eps_placement, "amsgrad_max_of": "raw_v",
               "weight_decay_mode": "coupled"}
    first = oracle.step_expressions("adam", variant, n_steps=1)["param_1"]
    s = {name: sp.Symbol(name, real=True) for name in ("theta", "g1", "lr", "eps", "beta2", "weight_decay")}
    c = sp.Symbol("c", positive=True)
    first = first.subs({s["weight_decay"]: 0, s["beta2"]: 1 - c})
    g, lr, eps = s["g1"], s["lr"], s["eps"]
    expected = -lr * g / (sp.Abs(g) + eps) if eps_placement == "outside_sqrt" else \
        -lr * sp.sqrt(c) * g / (sp.sqrt(c) * sp.Abs(g) + eps)
    assert sp.simplify(first - s["theta"] - expected) == 0


def test_nadam_momentum_schedules_hand_values():
    """mu_1 (the mu_product after one step) at beta1 = 0.9: PyTorch 0.9 (1 - 0.5 * 0.96**0.004) = 0.450073...,
    Keras 0.9 (1 - 0.5 * 0.96) = 0.468, optax 0.9."""
    theta, grad = np.array([1.0]), np.array([1.0])
    first = {}
    for profile in ("pytorch", "keras", "optax"):
        kwargs = {"betas": (0.9, 0.999), **profiles.conventions(profile, "nadam")}
        first[profile] = nadam.step(theta, grad, nadam.init(theta, **kwargs), **kwargs)[1].mu_product
    assert _close(first["pytorch"], 0.9 * (1 - 0.5 * math.exp(0.004 * math.log(0.96))))
    assert _close(first["keras"], 0.468) and first["optax"] == 0.9


def test_adamw_keras_golden_value():
    """keras/src/optimizers/adamw_test.py: lr 1, weight_decay 0.004, zero gradients, 3 steps: 2 * 0.996**3."""
    kwargs = {"lr": 1.0, "weight_decay": 0.004, **profiles.conventions("keras", "adamw")}
    theta = np.array([2.0])
    state = adamw.init(theta, **kwargs)
    for _ in range(3):
        theta, state = adamw.step(theta, np.array([0.0]), state, **kwargs)
    assert _close(float(theta[0]), 1.976095872)


@given(g=st.floats(1e-3, 1e3), beta2=st.floats(0.0, 0.9999), eps=st.floats(1e-8, 1e-2))
def test_adam_eps_hat_is_outside_sqrt_with_rescaled_eps(g, beta2, eps):
    """At step t, Keras's eps-hat equals PyTorch's eps / sqrt(1 - beta2**t) (here t = 1)."""
    theta = np.array([1.0])
    keras = {"betas": (0.9, beta2), "eps": eps, "eps_placement": "eps_hat"}
    torch = {"betas": (0.9, beta2), "eps": eps / math.sqrt(1 - beta2), "eps_placement": "outside_sqrt"}
    a = adam.step(theta, np.array([g]), adam.init(theta, **keras), **keras)[0]
    b = adam.step(theta, np.array([g]), adam.init(theta, **torch), **torch)[0]
    step = 1e-3  # |theta - new theta| <= lr: both results carry a few roundings of theta and of the step
    assert abs(float(a[0]) - float(b[0])) <= 16 * U * (1.0 + step) + FLOOR
