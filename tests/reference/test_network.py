"""Self-tests of reference/network.py (docs/spec/backpropagation.md).

Oracle: the network written a second time, here, in mpmath at 50 significant digits (activations as SymPy
expressions lambdified to mpmath, losses as their textbook formulas), differentiated by central differences
(L(p + h) - L(p - h)) / 2h for every parameter p, with h = STEP = 2**-60. The oracle's own error is below
ORACLE_ERROR * (1 + |L| + mean |output|): the rounding of L at 50 digits (10**3 roundings of 10**-50 at most,
relative to the size of L's terms) divided by h, ~1e-29; the truncation h**2 |L'''| / 6 is ~1e-37.

Budget (smooth networks): network_room.budget, a first-order running error analysis that carries each primitive's
own float64 budget through the layers (docs/spec/backpropagation.md#chain-rule), plus the oracle's error.

Relu networks are checked exactly: with integer inputs, weights and targets and dyadic biases every float64
operation is exact, every pre-activation stays away from the kink, and the summed squared error is quadratic
in each parameter, so the central difference is exact too (see ``integer_relu_networks``).
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.conformance import network as network_room
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dense, dtypes, network
from nnspec.reference.activations import log_softmax, softmax
from nnspec.reference.network import Layer

DIGITS = 50
STEP = mpmath.mpf(2) ** -60
ORACLE_ERROR = float(mpmath.mpf(10) ** (3 - DIGITS) / STEP)
SMOOTH = ["tanh", "sigmoid", "softplus", "gelu"]
Z = sympy.Symbol("z", real=True)
EXPRESSIONS = {
    "identity": Z,
    "tanh": sympy.tanh(Z),
    "sigmoid": 1 / (1 + sympy.exp(-Z)),
    "softplus": sympy.log(1 + sympy.exp(Z)),
    "gelu": Z * (1 + sympy.erf(Z / sympy.sqrt(2))) / 2,
    "relu": sympy.Piecewise((Z, Z > 0), (0, True)),
}
MP_ACTIVATIONS = {name: np.frompyfunc(sympy.lambdify(Z, expression, "mpmath"), 1, 1)
                  for name, expression in EXPRESSIONS.items()}
to_mp = np.frompyfunc(mpmath.mpf, 1, 1)


def _floats(array) -> np.ndarray:
    return np.array(array, dtype=np.float64)


@st.composite
def small_networks(draw, loss: str, activations: list[str]):
    """(layers, x, target): 2-3 layers of widths 1..3, batch 1..3, entries in [-bound, bound], bound 1 or 2.

    Small because the oracle evaluates the 50-digit network twice per parameter; the bound keeps sigmoids out
    of deep saturation, where a gradient would fall below what the oracle resolves. Logit losses get an
    identity output layer; the target is a float array for MSE, probabilities for BCE, labels for
    cross-entropy.
    """
    depth, n, bound = draw(st.integers(2, 3)), draw(st.integers(1, 3)), draw(st.sampled_from([1.0, 2.0]))
    sizes = [draw(st.integers(1, 3)) for _ in range(depth + 1)]

    def arrays(shape, low=-bound, high=bound):
        return draw(float_arrays(dtypes.FLOAT64, shape, min_value=low, max_value=high))

    names = [draw(st.sampled_from(activations)) for _ in range(depth)]
    if loss != "mean_squared_error":
        names[-1] = "identity"
    layers = [Layer(arrays((i, o)), arrays((o,)), name) for i, o, name in zip(sizes, sizes[1:], names)]
    target = {"mean_squared_error": lambda: arrays((n, sizes[-1])),
              "binary_cross_entropy_with_logits": lambda: arrays((n, sizes[-1]), 0.0, 1.0),
              "softmax_cross_entropy": lambda: np.array(draw(st.lists(st.integers(0, sizes[-1] - 1),
                                                                      min_size=n, max_size=n)))}[loss]()
    return layers, arrays((n, sizes[0])), target


@st.composite
def integer_relu_networks(draw):
    """(layers, x, target): relu layers and an identity output layer, 2-3 layers of widths 1..3, batch 1..3.

    x, weights and targets are integers in [-3, 3]; layer l's bias is an integer plus 2**-(l + 1). Then every
    pre-activation of layer l lies in 2**-(l + 1) + 2**-l Z, never 0: away from relu's kink by construction,
    and no perturbation of 2**-60 crosses it. Every value is a short dyadic number, so float64 is exact.
    """
    depth, n = draw(st.integers(2, 3)), draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 3)) for _ in range(depth + 1)]

    def integers(shape):
        size = int(np.prod(shape))
        values = draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size))
        return np.array(values, dtype=np.float64).reshape(shape)

    layers = []
    for index, (i, o) in enumerate(itertools.pairwise(sizes)):
        activation = "relu" if index < depth - 1 else "identity"
        layers.append(Layer(integers((i, o)), integers((o,)) + 2.0 ** -(index + 1), activation))
    return layers, integers((n, sizes[0])), integers((n, sizes[-1]))


def _mp_forward(params, names, x):
    """The network's output, in mpmath."""
    a = to_mp(x)
    for (w, b), name in zip(params, names):
        a = MP_ACTIVATIONS[name](a.dot(w) + b)
    return a


def _mp_loss(out, target, loss, reduction="mean"):
    """The loss from its textbook formula (target labels for cross-entropy), "mean" or "sum"."""
    if loss == "mean_squared_error":
        total, count = sum(((out - target) ** 2).ravel()), out.size
    elif loss == "binary_cross_entropy_with_logits":  # -t log(sigmoid z) - (1 - t) log(1 - sigmoid z)
        total = sum(mpmath.log(1 + mpmath.exp(z)) - z * t for z, t in zip(out.ravel(), target.ravel()))
        count = out.size
    else:
        total = sum(mpmath.log(sum(mpmath.exp(v) for v in row)) - row[label]
                    for row, label in zip(out, target))
        count = len(out)
    return total / count if reduction == "mean" else total


def _central_differences(layers, x, target, loss, reduction="mean"):
    """dL/dp for each parameter array (weight, bias, weight, ...) by central differences at 50 digits."""
    names = [layer.activation for layer in layers]
    params = [(to_mp(layer.weight), to_mp(layer.bias)) for layer in layers]
    grads = []
    for array in (array for pair in params for array in pair):
        grad = np.empty(array.shape, dtype=object)
        for index in np.ndindex(array.shape):
            original, values = array[index], []
            for shifted in (original + STEP, original - STEP):
                array[index] = shifted
                values.append(_mp_loss(_mp_forward(params, names, x), target, loss, reduction))
            array[index] = original
            grad[index] = (values[0] - values[1]) / (2 * STEP)
        grads.append(grad)
    return grads


def _assert_within(observed, exact, allowed, what: str):
    error = np.abs(_floats(to_mp(np.asarray(observed, dtype=np.float64)) - exact))
    assert np.all(error <= allowed), f"{what}: error {error} over budget {allowed}"


def _check_against_oracle(layers, x, target, loss):
    value, grads = network.loss_and_gradients(layers, x, target, loss=loss)
    budget = network_room.budget(layers, x, target, loss, {}, dtypes.FLOAT64)
    with mpmath.workdps(DIGITS):
        out = _mp_forward([(to_mp(layer.weight), to_mp(layer.bias)) for layer in layers],
                          [layer.activation for layer in layers], x)
        exact_loss = _mp_loss(out, target, loss)
        exact = _central_differences(layers, x, target, loss)
    oracle = ORACLE_ERROR * (1 + abs(float(exact_loss)) + np.mean(np.abs(_floats(out))))
    _assert_within(value, exact_loss, budget["loss"] + oracle, "loss")
    for index, grad in enumerate(grads):
        weight_budget, bias_budget = budget["weights"][index] + oracle, budget["biases"][index] + oracle
        _assert_within(grad.weight, exact[2 * index], weight_budget, f"layers[{index}] weight")
        _assert_within(grad.bias, exact[2 * index + 1], bias_budget, f"layers[{index}] bias")


LOSSES = ["mean_squared_error", "binary_cross_entropy_with_logits", "softmax_cross_entropy"]


@pytest.mark.parametrize("loss", LOSSES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_network_smooth_gradients_match_50_digit_central_differences(loss, data):
    _check_against_oracle(*data.draw(small_networks(loss, SMOOTH)), loss)


@settings(max_examples=15, deadline=None)
@given(integer_relu_networks())
def test_network_relu_gradients_equal_exact_central_differences_away_from_kinks(problem):
    layers, x, target = problem
    _, grads = network.loss_and_gradients(layers, x, target, reduction="sum")
    with mpmath.workdps(DIGITS):
        exact = _central_differences(layers, x, target, "mean_squared_error", reduction="sum")
    for index, grad in enumerate(grads):
        assert np.array_equal(grad.weight, _floats(exact[2 * index])), f"layers[{index}] weight"
        assert np.array_equal(grad.bias, _floats(exact[2 * index + 1])), f"layers[{index}] bias"


def test_network_worked_example_of_the_spec():
    layers = [Layer(np.array([[1.0, -1.0], [0.0, 1.0]]), np.array([0.5, -2.0]), "relu"),
              Layer(np.array([[2.0], [-1.0]]), np.array([0.5]))]
    x = np.array([[1.0, 2.0]])
    value, grads = network.loss_and_gradients(layers, x, np.array([[3.0]]))
    output, cache = network.forward_with_cache(layers, x)
    grad_x, _ = network.backward(layers, cache, np.array([[1.0]]))  # dL/dy = 2 (3.5 - 3) = 1
    assert value == 0.25 and output.tolist() == [[3.5]] and grad_x.tolist() == [[2.0, 0.0]]
    assert grads[1].weight.tolist() == [[1.5], [0.0]] and grads[1].bias.tolist() == [1.0]
    assert grads[0].weight.tolist() == [[2.0, 0.0], [4.0, 0.0]] and grads[0].bias.tolist() == [2.0, 0.0]


@given(st.lists(st.integers(-3, 3), min_size=14, max_size=14), st.integers(1, 4))
def test_network_bias_gradient_is_sum_of_per_example_gradients(values, n):
    # Small integers, relu and identity, a summed squared error: every step is exact, in any order.
    v = np.array(values, dtype=np.float64)
    layers = [Layer(v[:4].reshape(2, 2), v[4:6], "relu"), Layer(v[6:10].reshape(2, 2), v[10:12])]
    x, target = np.tile(v[12:14], (n, 1)) + np.arange(n)[:, None], np.zeros((n, 2))
    _, batch = network.loss_and_gradients(layers, x, target, reduction="sum")
    singles = [network.loss_and_gradients(layers, x[i:i + 1], target[i:i + 1], reduction="sum")[1]
               for i in range(n)]
    for index, grads in enumerate(batch):
        assert grads.bias.shape == layers[index].bias.shape
        assert np.array_equal(grads.bias, sum(single[index].bias for single in singles))
        assert np.array_equal(grads.weight, sum(single[index].weight for single in singles))


@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_network_gradient_shapes_equal_parameter_shapes_and_inputs_are_kept(sizes, n, seed):
    rng = np.random.default_rng(seed)
    layers = network.init(sizes, ["tanh"] * (len(sizes) - 1), rng)
    x, target = rng.standard_normal((n, sizes[0])), rng.standard_normal((n, sizes[-1]))
    before = [(layer.weight.copy(), layer.bias.copy()) for layer in layers] + [(x.copy(), target.copy())]
    output, cache = network.forward_with_cache(layers, x)
    grad_x, grads = network.backward(layers, cache, np.ones_like(output))
    assert grad_x.shape == x.shape and len(grads) == len(layers)
    assert all(g.weight.shape == layer.weight.shape and g.bias.shape == layer.bias.shape
               for g, layer in zip(grads, layers))
    after = [(layer.weight, layer.bias) for layer in layers] + [(x, target)]
    assert all(np.array_equal(a, b) for pair_a, pair_b in zip(before, after) for a, b in zip(pair_a, pair_b))


def test_network_float32_in_float32_out():
    layers = network.init([3, 4, 2], ["gelu", "identity"], np.random.default_rng(0), dtype=np.float32)
    x, target = np.ones((2, 3), np.float32), np.zeros((2, 2), np.float32)
    _, grads = network.loss_and_gradients(layers, x, target)
    assert network.forward(layers, x).dtype == np.float32
    assert all(g.weight.dtype == np.float32 and g.bias.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("module", [softmax, log_softmax])
def test_network_softmax_layer_is_softmax_of_the_dense_output(module):
    layer = network.init([3, 4], [module.__name__.rsplit(".", 1)[-1]], np.random.default_rng(1))[0]
    x, g = np.random.default_rng(2).standard_normal((2, 3)), np.random.default_rng(3).standard_normal((2, 4))
    z = dense.forward(x, layer.weight, layer.bias)
    assert np.array_equal(network.forward([layer], x), module.forward(z, axis=-1))
    _, (grads,) = network.backward([layer], network.forward_with_cache([layer], x)[1], g)
    expected = dense.backward(x, layer.weight, layer.bias, module.backward(z, g, axis=-1))
    assert all(np.array_equal(a, b) for a, b in zip(grads, expected))


def test_network_init_draws_within_the_torch_bound():
    layers = network.init([4, 9, 1], ["relu", "sigmoid"], np.random.default_rng(0))
    shapes = [(layer.weight.shape, layer.bias.shape, layer.activation) for layer in layers]
    assert shapes == [((4, 9), (9,), "relu"), ((9, 1), (1,), "sigmoid")]
    for layer in layers:
        bound = layer.weight.shape[0] ** -0.5
        assert np.all(np.abs(layer.weight) <= bound) and np.all(np.abs(layer.bias) <= bound)


ONE = [Layer(np.ones((2, 3)), np.ones(3))]


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: network.forward([], np.ones((1, 2))), ValueError, r"network\.forward: layers must be a non-emp"),
    (lambda: network.forward(ONE * 2, np.ones((1, 2))), ValueError, r"network\.forward: layers\[1\]\.weight"),
    (lambda: network.forward(ONE, np.ones((1, 2), int)), TypeError, r"network\.forward: x must be"),
    (lambda: network.forward([Layer(np.ones((2, 3)), np.ones(2))], np.ones(2)), ValueError,
     r"network\.forward: layers\[0\]\.bias"),
    (lambda: network.forward([Layer(np.ones((2, 3)), None, "swish")], np.ones(2)), ValueError,
     r"network\.forward: layers\[0\]\.activation must be one of"),
    (lambda: network.forward([Layer(np.ones((2, 3)), None, "softmax", {"axis": 0})], np.ones(2)), ValueError,
     r"network\.forward: layers\[0\]\.activation_params"),
    (lambda: network.loss_and_gradients(ONE, np.ones((1, 2)), np.ones((1, 3)), loss="hinge"), ValueError,
     r"network\.loss_and_gradients: loss must be one of"),
    (lambda: network.loss_and_gradients(ONE, np.ones((1, 2)), np.ones((1, 3)), reduction="none"), ValueError,
     r"network\.loss_and_gradients: reduction"),
    (lambda: network.backward(ONE, network.forward_with_cache(ONE, np.ones(2))[1], np.ones(2)), ValueError,
     r"network\.backward: grad_output must have shape \(3\)"),
    (lambda: network.backward(ONE * 2, network.forward_with_cache(ONE, np.ones(2))[1], np.ones(3)),
     ValueError,
     r"network\.backward: layers\[1\]\.weight"),
    (lambda: network.init([2], [], np.random.default_rng()), ValueError, r"network\.init: sizes"),
    (lambda: network.init([2, 3], ["relu", "relu"], np.random.default_rng()), ValueError, r"init: activat"),
    (lambda: network.init([2, 3], ["relu"], 0), TypeError, r"network\.init: rng"),
])
def test_network_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
