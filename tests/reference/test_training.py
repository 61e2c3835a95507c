"""Self-tests of reference/training.py (docs/spec/training.md).

Oracles: (1) the network without masks is ``network.loss_and_gradients`` (itself checked against mpmath);
(2) a mask shared by every example of the batch with power-of-two scales folds exactly into the next layer's
weight rows, diag(m) W, so the masked network equals an unmasked one bit for bit, and dL/dW = diag(m) dL/dW';
(3) hand-computed steps with integer data where every float64 operation is exact; (4) the optimizer modules
applied by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dtypes, network, training
from nnspec.reference.network import Layer
from nnspec.reference.optimizers import sgd

SMOOTH = ["identity", "tanh", "sigmoid", "softplus", "gelu"]


@st.composite
def two_layer_problems(draw):
    n, k, h, o = (draw(st.integers(1, 4)) for _ in range(4))

    def arrays(shape):
        return draw(float_arrays(dtypes.FLOAT64, shape, min_value=-2.0, max_value=2.0))

    layers = [Layer(arrays((k, h)), arrays((h,)), draw(st.sampled_from(SMOOTH))),
              Layer(arrays((h, o)), arrays((o,)), "identity")]
    return layers, arrays((n, k)), arrays((n, o))


@given(problem=two_layer_problems())
def test_without_masks_it_is_the_network(problem):
    layers, x, target = problem
    value, grads = training.loss_and_gradients(layers, x, target)
    expected_value, expected = network.loss_and_gradients(layers, x, target)
    assert value == expected_value
    for got, want in zip(grads, expected):
        np.testing.assert_array_equal(got.weight, want.weight)
        np.testing.assert_array_equal(got.bias, want.bias)


@given(problem=two_layer_problems(), data=st.data())
def test_a_shared_power_of_two_mask_folds_into_the_next_weights(problem, data):
    layers, x, target = problem
    hidden = layers[0].weight.shape[1]
    m = np.array(data.draw(st.lists(st.sampled_from([0.0, 2.0, 4.0]), min_size=hidden, max_size=hidden)))
    masks = [np.tile(m, (x.shape[0], 1)), None]
    value, grads = training.loss_and_gradients(layers, x, target, dropout_masks=masks)
    folded = [layers[0], Layer(m[:, None] * layers[1].weight, layers[1].bias, "identity")]
    expected_value, expected = network.loss_and_gradients(folded, x, target)
    assert value == expected_value
    np.testing.assert_array_equal(grads[0].weight, expected[0].weight)
    np.testing.assert_array_equal(grads[1].weight, m[:, None] * expected[1].weight)
    np.testing.assert_array_equal(grads[1].bias, expected[1].bias)


def test_each_example_uses_its_own_mask():
    # y_n = 2 * x_n * m_n (one hidden unit, weights 2 then 1), MSE "sum" against 0: L = sum (2 x_n m_n)^2
    layers = [Layer(np.array([[2.0]]), None), Layer(np.array([[1.0]]), None)]
    x, target = np.array([[1.0], [3.0]]), np.zeros((2, 1))
    masks = [np.array([[2.0], [0.0]]), None]
    value, grads = training.loss_and_gradients(layers, x, target, loss_params={"reduction": "sum"},
                                               dropout_masks=masks)
    # only example 0 survives: h = 4, L = 16; dL/dw2 = 2 * 4 * 4 = 32; dL/dw1 = 2 * 4 * 1 * 2 * 1 = 16
    assert value == 16.0 and grads[1].weight.tolist() == [[32.0]] and grads[0].weight.tolist() == [[16.0]]


@given(problem=two_layer_problems(), lr=st.sampled_from([0.5, 0.125]), momentum=st.sampled_from([0.0, 0.9]))
def test_step_applies_the_optimizer_to_every_tensor(problem, lr, momentum):
    layers, x, target = problem
    hyper = {"lr": lr, "momentum": momentum, "weight_decay": 0.01}
    result = training.step(layers, x, target, hyper=hyper)
    _, grads = training.loss_and_gradients(layers, x, target)
    for layer, new, g in zip(layers, result.layers, grads):
        for param, got, grad in ((layer.weight, new.weight, g.weight), (layer.bias, new.bias, g.bias)):
            expected, _ = sgd.step(param, grad, sgd.init(param, **hyper), **hyper)
            np.testing.assert_array_equal(got, expected)


def test_states_carry_momentum_into_the_next_step():
    layers, x, target = [Layer(np.array([[1.0]]), None)], np.array([[1.0]]), np.array([[3.0]])
    hyper = {"lr": 0.125, "momentum": 0.5}
    first = training.step(layers, x, target, hyper=hyper)
    second = training.step(first.layers, x, target, hyper=hyper, states=first.states)
    # w: 1 -> 1 - 0.125 * (-4) = 1.5; gradient 2 (1.5 - 3) = -3, buffer 0.5 * (-4) - 3 = -5, w = 1.5 + 0.625
    assert first.layers[0].weight.tolist() == [[1.5]] and second.layers[0].weight.tolist() == [[2.125]]


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"dropout_masks": [None, None]}, ValueError, r"training\.loss_and_gradients: dropout_masks must have one"),
    ({"dropout_masks": [np.ones((2, 2))]}, ValueError, r"dropout mask must have the same shape"),
    ({"loss": "hinge"}, ValueError, r"training\.loss_and_gradients: loss must be one of"),
])
def test_invalid_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        training.loss_and_gradients([Layer(np.array([[1.0]]), None)], np.array([[1.0]]), np.array([[0.0]]), **kwargs)


def test_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match=r"training\.step: optimizer must be one of"):
        training.step([Layer(np.array([[1.0]]), None)], np.array([[1.0]]), np.array([[0.0]]), optimizer="lamb")
