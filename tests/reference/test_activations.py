"""The reference's elementwise activations against their SymPy/mpmath oracle, and their conventions.

Spec: docs/spec/activations.md. Values and derivatives are compared with the exact results of
``nnspec.conformance.oracles.activations`` (rounded once to float64) within an error budget in units of
float64 rounding, u = 2**-53. Each budget is a running error analysis of the reference's formula at the input,
written below next to its primitive; it counts every rounded operation and, where an argument is itself rounded,
the conditioning that carries that error into the result.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.conformance.oracles import activations as oracle
from nnspec.reference.activations import gelu, identity, leaky_relu, relu, sigmoid, silu, softplus, tanh

U = 2.0**-53
LIBM = 4  # ulps of one call to numpy's exp, log1p, tanh or math.erfc (glibc and SVML stay within this)
FLOOR = 2.0**-1021  # two smallest normals: below them float64 has no relative accuracy

# (oracle name, reference module, keyword arguments taken by both)
CASES = [
    ("identity", identity, {}),
    ("sigmoid", sigmoid, {}),
    ("tanh", tanh, {}),
    ("relu", relu, {}),
    ("leaky_relu", leaky_relu, {}),
    ("leaky_relu", leaky_relu, {"negative_slope": -1.5}),
    ("leaky_relu", leaky_relu, {"negative_slope": 0.0}),
    ("softplus", softplus, {}),
    ("softplus", softplus, {"threshold": 0.5}),
    ("gelu", gelu, {"approximate": "none"}),
    ("gelu_tanh", gelu, {"approximate": "tanh"}),
    ("silu", silu, {}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in params.items())}" for name, _, params in CASES]
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324, -5e-324, 1.0, -1.0, -0.75])


def _within_budget(observed: np.ndarray, exact: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """|observed - exact| <= bound + |exact| u + FLOOR where exact is finite; identical where it is not.

    ``bound`` is the reference's own error bound; |exact| u covers the oracle's single rounding to float64.
    NaN must meet NaN and an infinity the same infinity.
    """
    finite = np.isfinite(exact)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(observed - exact) <= bound + np.abs(exact) * U + FLOOR
    same = (observed == exact) | (np.isnan(observed) & np.isnan(exact))
    return np.where(finite, close & np.isfinite(observed), same)


def _gelu_parts(x: mpmath.mpf) -> tuple[mpmath.mpf, ...]:
    """Phi(x), phi(x) and kappa = |x| phi(x) / Phi(x), the conditioning of Phi, at 20 digits.

    Beyond |x| = 1e5 Phi and phi are taken at +-1e5 (mpmath's erfc overflows near 1e154): there phi ~ 0 and
    Phi ~ 0 or 1 to far below float64 resolution, so the bound does not change.
    """
    with mpmath.workdps(20):
        t = max(min(x, 1e5), -1e5)
        cdf, pdf = mpmath.ncdf(t), mpmath.npdf(t)
        return cdf, pdf, abs(x) * pdf / cdf


def _gelu_tanh_parts(x: mpmath.mpf) -> tuple[mpmath.mpf, ...]:
    """w = 2z, s = sigmoid(w) = 0.5 (1 + tanh z), and the slope term 2 x s (1 - s) dz/dx, at 20 digits."""
    with mpmath.workdps(20):
        k, c = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
        w = 2 * k * (x + c * x**3)
        s = 1 / (1 + mpmath.exp(-w))
        return w, s, 2 * x * s * (1 - s) * k * (1 + 3 * c * x**2)


def _per_entry(bound_at, x: np.ndarray) -> np.ndarray:
    """Apply an mpmath bound to each entry of x (infinite and NaN entries are compared exactly anyway)."""
    finite = np.where(np.isfinite(x), x, 0.0)
    return np.array([float(bound_at(mpmath.mpf(float(v))) * U) for v in finite.ravel()]).reshape(x.shape)


def _forward_bound(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The reference forward's error bound at x, from the exact result y."""
    if name in ("identity", "relu"):
        return np.zeros_like(y)  # exact
    if name == "leaky_relu":
        return U * np.abs(y)  # one product
    if name == "sigmoid":
        return (LIBM + 2) * U * np.abs(y)  # exp, 1 + e, one division; exp's error is damped by e / (1 + e)
    if name == "tanh":
        return LIBM * U * np.abs(y)
    if name == "softplus":
        return (2 * LIBM + 1) * U * np.abs(y)  # exp, log1p (conditioning <= 1), the sum of two terms >= 0
    if name == "silu":
        return (LIBM + 3) * U * np.abs(y)  # sigmoid (LIBM + 2), x * s (1u); x exact, both factors of one sign
    if name == "gelu":

        def gelu_bound(v: mpmath.mpf) -> mpmath.mpf:
            cdf, _, kappa = _gelu_parts(v)  # erfc (LIBM), -x / sqrt 2 (2u, carried by kappa), x * cdf (1u)
            return abs(v * cdf) * (LIBM + 1 + 2 * kappa)

        return _per_entry(gelu_bound, x)

    def gelu_tanh_bound(v: mpmath.mpf) -> mpmath.mpf:
        w, s, _ = _gelu_tanh_parts(v)  # z carries 8u (x**3, constants, 2 products, 1 sum), amplified by
        return abs(v * s) * (LIBM + 3 + 8 * abs(w) * (1 - s))  # |w| (1 - s) in s; s LIBM + 2; x * s 1u

    return _per_entry(gelu_tanh_bound, x)


def _derivative_bound(name: str, x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The reference derivative's error bound at x, from the exact derivative d."""
    if name in ("identity", "relu", "leaky_relu"):
        return np.zeros_like(d)  # 1, 0 or negative_slope, exactly
    if name == "sigmoid":
        return (LIBM + 5) * U * np.abs(d)  # exp, (1 + e)**2 (3u), one division
    if name == "tanh":
        return (2 * LIBM + 6) * U * np.abs(d)  # e**2 (2 LIBM + 1), (1 + e**2)**2 (3u), 4 * and / (2u)
    if name == "softplus":
        return (LIBM + 2) * U * np.abs(d)  # sigmoid
    if name == "silu":

        def silu_bound(v: mpmath.mpf) -> mpmath.mpf:
            with mpmath.workdps(20):  # s (LIBM + 2); ds = s (1 - s) as sigmoid's derivative (LIBM + 5), x * ds
                s = 1 / (1 + mpmath.exp(-v))  # (1u); s + x ds (1u, relative to the sum, which may cancel)
                return s * (LIBM + 2) + abs(v) * s * (1 - s) * (LIBM + 6) + abs(s + v * s * (1 - s))

        return _per_entry(silu_bound, x)
    if name == "gelu":

        def gelu_bound(v: mpmath.mpf) -> mpmath.mpf:
            cdf, pdf, kappa = _gelu_parts(v)  # cdf as in the forward; exp(-x**2 / 2) carries x**2 / 2 u
            return cdf * (LIBM + 2 + 2 * kappa) + abs(v) * pdf * (LIBM + 4 + v * v / 2) + abs(cdf + v * pdf)

        return _per_entry(gelu_bound, x)

    def gelu_tanh_bound(v: mpmath.mpf) -> mpmath.mpf:
        w, s, slope = _gelu_tanh_parts(v)  # s as in the forward; ds = e / (1 + e)**2 carries |w| 8u
        return s * (LIBM + 2 + 8 * abs(w) * (1 - s)) + abs(slope) * (LIBM + 15 + 8 * abs(w)) + abs(s + slope)

    return _per_entry(gelu_tanh_bound, x)


def activation_inputs() -> st.SearchStrategy[np.ndarray]:
    """Short float64 vectors mixing the curved region, the tails, any finite float and pinned special values.

    Kept short (1-6 entries) because every entry costs an mpmath evaluation.
    """
    elements = st.one_of(
        st.floats(-10, 10),
        st.floats(-60, 60),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([0.0, -0.0, 1e300, -1e300, 5e-324, -745.0, 710.0, -0.75]),
    )
    return hnp.arrays(np.float64, st.integers(1, 6), elements=elements)


@st.composite
def inputs_and_gradients(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """An input vector from ``activation_inputs`` and an output gradient of its shape, entries in [-1e3, 1e3]."""
    x = draw(activation_inputs())
    return x, draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-1e3, 1e3)))


@pytest.mark.parametrize(("name", "module", "params"), CASES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(x=activation_inputs())
def test_elementwise_forward_matches_oracle(name, module, params, x):
    exact = oracle.values(name, x, **params)
    observed = module.forward(x, **params)
    note(f"observed {observed!r}\nexact    {exact!r}")
    assert _within_budget(observed, exact, _forward_bound(name, x, exact)).all()


@pytest.mark.parametrize(("name", "module", "params"), CASES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(case=inputs_and_gradients())
def test_elementwise_backward_matches_oracle(name, module, params, case):
    x, grad_output = case
    derivative = oracle.derivatives(name, x, **params)
    exact = grad_output * derivative  # one more rounding, counted below
    observed = module.backward(x, grad_output, **params)
    note(f"observed {observed!r}\nexact    {exact!r}")
    bound = np.abs(grad_output) * _derivative_bound(name, x, derivative) + U * np.abs(exact)
    assert _within_budget(observed, exact, bound).all()


@pytest.mark.parametrize(("name", "module", "params"), CASES, ids=IDS)
def test_elementwise_special_points_match_oracle(name, module, params):
    values, derivatives = oracle.values(name, SPECIAL, **params), oracle.derivatives(name, SPECIAL, **params)
    forward = module.forward(SPECIAL, **params)
    backward = module.backward(SPECIAL, np.ones_like(SPECIAL), **params)
    assert _within_budget(forward, values, _forward_bound(name, SPECIAL, values)).all(), forward
    assert _within_budget(backward, derivatives, _derivative_bound(name, SPECIAL, derivatives)).all(), backward


def test_oracle_gelu_is_the_spec_formula():
    # The oracle evaluates x * Phi(x) through mpmath's ncdf; the spec writes x / 2 * (1 + erf(x / sqrt 2)).
    x, expr = oracle.expression("gelu")
    spec_formula = x / 2 * (1 + sympy.erf(x / sympy.sqrt(2)))
    assert sympy.simplify(expr.rewrite(sympy.erf) - spec_formula) == 0
    assert sympy.simplify(sympy.diff(expr, x).rewrite(sympy.erf) - sympy.diff(spec_formula, x)) == 0


def test_oracle_encodes_the_kink_conventions():
    zeros = np.array([0.0, -0.0])
    assert (oracle.derivatives("relu", zeros) == 0.0).all()
    assert (oracle.derivatives("leaky_relu", zeros, negative_slope=0.25) == 0.25).all()


def test_relu_derivative_at_zero_is_zero():
    assert (relu.backward(np.array([0.0, -0.0]), np.array([7.0, 7.0])) == 0.0).all()


@given(negative_slope=st.floats(-1e3, 1e3))
def test_leaky_relu_derivative_at_zero_is_negative_slope(negative_slope):
    grad = leaky_relu.backward(np.array([0.0, -0.0]), np.ones(2), negative_slope=negative_slope)
    assert (grad == negative_slope).all()


@settings(max_examples=30, deadline=None)
@given(x=activation_inputs(), negative_slope=st.floats(-10, 10))
def test_leaky_relu_matches_oracle_for_any_slope(x, negative_slope):
    exact = oracle.values("leaky_relu", x, negative_slope=negative_slope)
    assert _within_budget(leaky_relu.forward(x, negative_slope=negative_slope), exact, U * np.abs(exact)).all()
    derivative = oracle.derivatives("leaky_relu", x, negative_slope=negative_slope)
    assert (leaky_relu.backward(x, np.ones_like(x), negative_slope=negative_slope) == derivative).all()


@settings(max_examples=30, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-40, 40)), threshold=st.floats(-30, 30))
def test_softplus_threshold_matches_oracle(x, threshold):
    x = np.concatenate([x, [threshold, np.nextafter(threshold, np.inf)]])  # both sides of the switch
    exact = oracle.values("softplus", x, threshold=threshold)
    bound = (2 * LIBM + 1) * U * np.abs(exact)
    assert _within_budget(softplus.forward(x, threshold=threshold), exact, bound).all()
    derivative = oracle.derivatives("softplus", x, threshold=threshold)
    observed = softplus.backward(x, np.ones_like(x), threshold=threshold)
    assert _within_budget(observed, derivative, (LIBM + 2) * U * np.abs(derivative)).all()


def test_softplus_threshold_is_tested_on_the_input():
    # pytorch/pytorch#55587: threshold 0.5 at x = 0, where softplus(0) = log 2 > 0.5 but x = 0 < 0.5.
    assert softplus.backward(np.array([0.0]), np.array([1.0]), threshold=0.5)[0] == 0.5
    assert softplus.forward(np.array([0.0]), threshold=0.5)[0] == np.log(2.0)


@given(x=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(allow_nan=False)))
def test_sigmoid_reflection(x):
    # sigmoid(-x) + sigmoid(x) = 1: each has (LIBM + 2) u relative error and the sum one rounding.
    total = sigmoid.forward(-x) + sigmoid.forward(x)
    assert (np.abs(total - 1.0) <= (2 * (LIBM + 2) + 1) * U).all()


@given(x=hnp.arrays(np.float64, st.integers(0, 8), elements=st.floats()))
def test_relu_idempotent(x):
    once = relu.forward(x)
    np.testing.assert_array_equal(relu.forward(once), once)
