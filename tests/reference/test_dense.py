"""Self-tests of reference/dense.py and reference/perceptron.py (docs/spec/perceptron-and-dense.md).

Oracle: SymPy matrix calculus. For symbolic x (N, in), weight (in, out), bias (out,) and an upstream
gradient G (N, out), the scalar L = sum(G * (x @ weight + 1_N bias)) is differentiated symbolically. The bias
is broadcast by an explicit ones-column, so the batch sum of its gradient comes out of the calculus, not out
of the code; every derivative is evaluated exactly, in rationals, at the drawn float64 values.

Budgets (Higham, Accuracy and Stability of Numerical Algorithms, 3.1; any summation order, FMA or not):
    forward      |y - exact| <= gamma(in + 1) * (|x| @ |weight| + |bias|)
    grad_x       |.| <= gamma(out) * (|G| @ |weight|.T)
    grad_weight  |.| <= gamma(N) * (|x|.T @ |G|)
    grad_bias    |.| <= gamma(N) * sum_n |G[n]|
each plus errormodel.UNDERFLOW_FLOOR * tiny for products that fall below the normal range.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.conformance import errormodel
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dense, dtypes, perceptron
from nnspec.reference.activations import gelu, identity, relu, sigmoid, softplus, tanh

U = dtypes.FLOAT64.unit_roundoff
FLOOR = Fraction(errormodel.UNDERFLOW_FLOOR * dtypes.FLOAT64.tiny)
to_fraction = np.frompyfunc(Fraction, 1, 1)


@st.composite
def small_dense_problems(draw, *, bias: bool | None = None, integers: bool = False) -> dict:
    """x (N, in), weight (in, out), bias (out,) or None, grad_output (N, out), with N, in, out in 1..4.

    Small because SymPy's symbolic matrices grow with N * in * out; 1..4 covers single rows and columns.
    ``integers=True`` draws small integers, whose sums of products are exact in float64 in any order.
    """
    n, k, j = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    bound = draw(st.sampled_from([1.0, 4.0, 1e3]))

    def arrays(shape):
        if integers:
            size = int(np.prod(shape))
            values = st.lists(st.integers(-8, 8), min_size=size, max_size=size)
            return values.map(lambda v: np.array(v, dtype=np.float64).reshape(shape))
        return float_arrays(dtypes.FLOAT64, shape, min_value=-bound, max_value=bound)

    with_bias = draw(st.booleans()) if bias is None else bias
    return {"x": draw(arrays((n, k))), "weight": draw(arrays((k, j))),
            "bias": draw(arrays((j,))) if with_bias else None, "grad_output": draw(arrays((n, j)))}


@functools.cache
def _symbolic(n: int, k: int, j: int):
    """Symbols for x, weight, bias, G; y = x W + 1 b^T; the exact gradients of L = sum(G * y)."""
    x = sympy.Matrix(n, k, lambda a, b: sympy.Symbol(f"x_{a}_{b}"))
    w = sympy.Matrix(k, j, lambda a, b: sympy.Symbol(f"w_{a}_{b}"))
    b = sympy.Matrix(1, j, lambda _, c: sympy.Symbol(f"b_{c}"))
    g = sympy.Matrix(n, j, lambda a, c: sympy.Symbol(f"g_{a}_{c}"))
    y = x * w + sympy.ones(n, 1) * b
    loss = sum(g.multiply_elementwise(y))
    grads = tuple(m.applyfunc(lambda s: sympy.diff(loss, s)) for m in (x, w, b))
    return (x, w, b, g), y, grads


def _exact(expressions: sympy.Matrix, symbols, problem) -> np.ndarray:
    """Evaluate symbolic matrices exactly at the float64 values of the problem (a missing bias is 0)."""
    values = dict(problem, bias=np.zeros(symbols[1].shape[1]) if problem["bias"] is None else problem["bias"])
    substitution = {}
    for matrix, name in zip(symbols, ("x", "weight", "bias", "grad_output")):
        for symbol, value in zip(matrix, values[name].ravel()):
            substitution[symbol] = sympy.Rational(*float(value).as_integer_ratio())
    exact = [Fraction(int(v.p), int(v.q)) for v in expressions.xreplace(substitution)]
    return np.array(exact, dtype=object).reshape(expressions.shape)


def _assert_within(observed: np.ndarray, exact: np.ndarray, magnitude: np.ndarray, length: int, what: str):
    """|observed - exact| <= gamma(length) * magnitude + floor, elementwise, in exact arithmetic."""
    budget = np.array(magnitude * Fraction(float(errormodel.gamma(length, U))) + FLOOR, dtype=object)
    error = np.array(np.abs(to_fraction(observed.astype(np.float64)) - exact), dtype=object)
    worst = max(zip(error.ravel(), budget.ravel()), key=lambda pair: pair[0] / pair[1])
    assert np.all(error <= budget), f"{what}: error {float(worst[0]):.3g} over budget {float(worst[1]):.3g}"


def _abs_fractions(array: np.ndarray | None, shape) -> np.ndarray:
    return np.abs(to_fraction(np.zeros(shape) if array is None else array))


@settings(max_examples=30, deadline=None)
@given(small_dense_problems())
def test_dense_forward_matches_exact_matrix_product(problem):
    symbols, y, _ = _symbolic(*problem["x"].shape, problem["weight"].shape[1])
    observed = dense.forward(problem["x"], problem["weight"], problem["bias"])
    x, w = _abs_fractions(problem["x"], None), _abs_fractions(problem["weight"], None)
    magnitude = x.dot(w) + _abs_fractions(problem["bias"], (w.shape[1],))
    _assert_within(observed, _exact(y, symbols, problem), magnitude, w.shape[0] + 1, "forward")


@settings(max_examples=30, deadline=None)
@given(small_dense_problems())
def test_dense_backward_matches_sympy_gradients(problem):
    (n, k), j = problem["x"].shape, problem["weight"].shape[1]
    symbols, _, (grad_x, grad_w, grad_b) = _symbolic(n, k, j)
    grads = dense.backward(problem["x"], problem["weight"], problem["bias"], problem["grad_output"])
    x, w, g = (_abs_fractions(problem[name], None) for name in ("x", "weight", "grad_output"))
    _assert_within(grads.x, _exact(grad_x, symbols, problem), g.dot(w.T), j, "grad_x")
    _assert_within(grads.weight, _exact(grad_w, symbols, problem), x.T.dot(g), n, "grad_weight")
    if problem["bias"] is None:
        assert grads.bias is None
    else:
        _assert_within(grads.bias, _exact(grad_b, symbols, problem)[0], g.sum(axis=0), n, "grad_bias")


@given(small_dense_problems(bias=True))
def test_dense_bias_gradient_is_sum_over_batch_of_grad_output(problem):
    x, w, b, g = problem["x"], problem["weight"], problem["bias"], problem["grad_output"]
    per_example = [dense.backward(x[n], w, b, g[n]).bias for n in range(len(x))]
    assert all(np.array_equal(grad, g[n]) for n, grad in enumerate(per_example))  # one row: no sum, exact
    grad_bias = dense.backward(x, w, b, g).bias
    assert grad_bias.shape == b.shape
    exact = to_fraction(g).sum(axis=0)
    _assert_within(grad_bias, exact, np.abs(to_fraction(g)).sum(axis=0), len(x), "grad_bias")


@given(small_dense_problems())
def test_dense_vector_is_a_batch_of_one(problem):
    x, w, b, g = problem["x"][0], problem["weight"], problem["bias"], problem["grad_output"][0]
    assert np.array_equal(dense.forward(x, w, b), dense.forward(x[None], w, b)[0])
    one, batch = dense.backward(x, w, b, g), dense.backward(x[None], w, b, g[None])
    assert one.x.shape == x.shape and np.array_equal(one.x, batch.x[0])
    assert np.array_equal(one.weight, batch.weight)


@given(small_dense_problems())
def test_dense_gradient_shapes_equal_parameter_shapes(problem):
    grads = dense.backward(problem["x"], problem["weight"], problem["bias"], problem["grad_output"])
    assert grads.x.shape == problem["x"].shape and grads.weight.shape == problem["weight"].shape
    assert (grads.bias is None) if problem["bias"] is None else grads.bias.shape == problem["bias"].shape


@given(small_dense_problems(bias=True))
def test_dense_does_not_mutate_inputs(problem):
    before = {name: array.copy() for name, array in problem.items()}
    dense.forward(problem["x"], problem["weight"], problem["bias"])
    dense.backward(problem["x"], problem["weight"], problem["bias"], problem["grad_output"])
    assert all(np.array_equal(before[name], problem[name]) for name in problem)


def test_dense_float32_in_float32_out_and_mixed_widens():
    x, w, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32), np.ones(4, np.float32)
    g = np.ones((2, 4))
    assert dense.forward(x, w, b).dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in dense.backward(x, w, b, g.astype(np.float32)))
    assert dense.forward(x, w.astype(np.float64), b).dtype == np.float64
    assert all(grad.dtype == np.float64 for grad in dense.backward(x, w, b, g))


def test_dense_empty_batch_has_zero_parameter_gradients():
    grads = dense.backward(np.zeros((0, 3)), np.ones((3, 2)), np.ones(2), np.zeros((0, 2)))
    assert dense.forward(np.zeros((0, 3)), np.ones((3, 2)), np.ones(2)).shape == (0, 2)
    assert np.array_equal(grads.weight, np.zeros((3, 2))) and np.array_equal(grads.bias, np.zeros(2))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: dense.forward(np.ones((2, 3), int), np.ones((3, 4))), TypeError, r"dense\.forward: x must be"),
    (lambda: dense.forward(np.ones((2, 3)), np.ones(3)), ValueError, r"dense\.forward: weight must have"),
    (lambda: dense.forward(np.ones((2, 3)), np.ones((4, 2))), ValueError, r"dense\.forward: x must have sh"),
    (lambda: dense.forward(np.ones((1, 2, 3)), np.ones((3, 2))), ValueError, r"dense\.forward: x must have"),
    (lambda: dense.forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3)), ValueError, r"dense\.forward: bi"),
    (lambda: dense.backward(np.ones((2, 3)), np.ones((3, 2)), None, np.ones((2, 3))), ValueError,
     r"dense\.backward: grad_output must have shape \(2, 2\)"),
    (lambda: dense.backward(np.ones(3), np.ones((3, 2)), None, np.ones((1, 2))), ValueError,
     r"dense\.backward: grad_output"),
    (lambda: dense.backward(x=np.ones(3), weight=np.ones((3, 2))), TypeError, r"backward: grad_output is"),
])
def test_dense_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- perceptron ---------------------------------------------------------------------------------------------

@given(
    small_dense_problems(bias=True, integers=True), st.sampled_from(["identity", "sigmoid", "tanh", "step"]))
def test_perceptron_is_dense_with_one_output_then_activation(problem, activation):
    x, w, b = problem["x"], problem["weight"][:, 0], problem["bias"][0]
    z = dense.forward(x, w[:, None], np.array([b]))[:, 0]  # integer inputs: z is exact, in any order
    expected = {"identity": identity.forward, "sigmoid": sigmoid.forward, "tanh": tanh.forward,
                "step": lambda v: np.where(v > 0, 1.0, 0.0)}[activation](z)
    assert np.array_equal(perceptron.forward(x, w, float(b), activation), expected)


@settings(max_examples=30, deadline=None)
@given(small_dense_problems(bias=True))
def test_perceptron_identity_gradients_match_sympy(problem):
    n, k = problem["x"].shape
    one_output = dict(problem, weight=problem["weight"][:, :1], bias=problem["bias"][:1],
                      grad_output=problem["grad_output"][:, :1])
    symbols, _, (grad_x, grad_w, grad_b) = _symbolic(n, k, 1)
    x, w, b, g = (one_output[name] for name in ("x", "weight", "bias", "grad_output"))
    grads = perceptron.backward(x, w[:, 0], b[0], g[:, 0], activation="identity")
    ax, aw, ag = np.abs(to_fraction(x)), np.abs(to_fraction(w)), np.abs(to_fraction(g))
    _assert_within(grads.x, _exact(grad_x, symbols, one_output), ag.dot(aw.T), 1, "grad_x")
    exact_w = _exact(grad_w, symbols, one_output)[:, 0]
    _assert_within(grads.weight, exact_w, ax.T.dot(ag)[:, 0], n, "grad_weight")
    _assert_within(grads.bias, _exact(grad_b, symbols, one_output)[0, 0], ag.sum(), n, "grad_bias")


ELEMENTWISE = {"identity": identity, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softplus": softplus,
               "gelu": gelu}


@given(small_dense_problems(bias=True), st.sampled_from(sorted(ELEMENTWISE)))
def test_perceptron_backward_is_activation_vjp_then_linear_vjp(problem, activation):
    x, w, b, g = problem["x"], problem["weight"][:, 0], problem["bias"][0], problem["grad_output"][:, 0]
    grad_z = ELEMENTWISE[activation].backward(perceptron.forward(x, w, b, "identity"), g)
    through = perceptron.backward(x, w, b, g, activation)
    linear = perceptron.backward(x, w, b, grad_z, "identity")
    assert all(np.array_equal(a, e) for a, e in zip(through, linear))


def test_perceptron_sigmoid_gradients_at_zero_pre_activation():
    # z = 2 * 0.5 - 1 = 0, sigmoid'(0) = 1/4: grad_x = w/4, grad_weight = x/4, grad_bias = 1/4
    grads = perceptron.backward(np.array([2.0]), np.array([0.5]), -1.0, np.array(1.0), activation="sigmoid")
    expected = (np.array([0.125]), np.array([0.5]), np.array(0.25))
    assert all(np.array_equal(a, e) and a.shape == e.shape for a, e in zip(grads, expected))


@given(small_dense_problems(bias=True))
def test_perceptron_step_is_heaviside_with_zero_gradients(problem):
    x, w, b, g = problem["x"], problem["weight"][:, 0], problem["bias"][0], problem["grad_output"][:, 0]
    z = perceptron.forward(x, w, b, "identity")
    assert np.array_equal(perceptron.forward(x, w, b, "step"), np.where(z > 0, 1.0, 0.0))
    grads = perceptron.backward(x, w, b, g, "step")
    params = (x, w, np.asarray(b))
    assert all(np.array_equal(grad, np.zeros_like(param)) for grad, param in zip(grads, params))


@given(small_dense_problems(bias=True))
def test_perceptron_does_not_mutate_inputs(problem):
    x, w, g = problem["x"], problem["weight"][:, 0], problem["grad_output"][:, 0]
    b = problem["bias"][:1].reshape(())  # a 0-d array bias
    before = [array.copy() for array in (x, w, b, g)]
    perceptron.forward(x, w, b, "tanh")
    perceptron.backward(x, w, b, g, "tanh")
    assert all(np.array_equal(old, new) for old, new in zip(before, (x, w, b, g)))


def test_perceptron_float32_in_float32_out_with_python_float_bias():
    x, w = np.ones((2, 3), np.float32), np.ones(3, np.float32)
    assert perceptron.forward(x, w, 0.1).dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in perceptron.backward(x, w, 0.1, np.ones(2, np.float32)))
    assert perceptron.forward(x, w, np.array(0.1)).dtype == np.float64  # an array bias is strongly typed


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: perceptron.forward(np.ones((2, 3)), np.ones((3, 1)), 0.0), ValueError, r"forward: weight"),
    (lambda: perceptron.forward(np.ones((2, 3)), np.ones(2), 0.0), ValueError, r"perceptron\.forward: x"),
    (lambda: perceptron.forward(np.ones(3), np.ones(3), np.ones(1)), ValueError, r"perceptron\.forward: bi"),
    (lambda: perceptron.forward(np.ones(3), np.ones(3), 1), TypeError, r"perceptron\.forward: bias"),
    (lambda: perceptron.forward(np.ones(3), np.ones(3), 0.0, "softmax"), ValueError,
     r"perceptron\.forward: activation must be one of"),
    (lambda: perceptron.forward(np.ones(3), np.ones(3), 0.0, "step", slope=1.0), TypeError,
     r"perceptron\.forward: activation 'step' takes no parameters"),
    (lambda: perceptron.backward(np.ones((2, 3)), np.ones(3), 0.0, np.ones(3)), ValueError,
     r"perceptron\.backward: grad_output must have shape \(2\)"),
])
def test_perceptron_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
