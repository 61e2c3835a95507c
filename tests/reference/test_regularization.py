"""Self-tests of reference/regularization.py and of the equivalences of docs/spec/regularization.md.

Oracles: hand values; the penalty's gradient against its exact quadratic central difference (exact with
dyadic data); and the optimizers themselves: an L2 penalty in the loss is coupled weight decay (the same
arithmetic, bit for bit); for plain SGD coupled and decoupled decay agree (up to rounding: bounded here by
the few roundings of each formula, Higham's model); with momentum or Adam they differ by a computed amount.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.errormodel import gamma
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dtypes, regularization
from nnspec.reference.optimizers import adam, adamw, sgd

U = 2.0 ** -53
params_and_grads = st.integers(1, 6).flatmap(lambda n: st.tuples(
    float_arrays(dtypes.FLOAT64, (n,), min_value=-4.0, max_value=4.0),
    float_arrays(dtypes.FLOAT64, (n,), min_value=-4.0, max_value=4.0)))


def test_penalty_and_gradient_by_hand():
    params = [np.array([1.0, 2.0]), np.array([[-3.0]])]
    assert regularization.forward(params, 0.5) == 0.25 * 14.0
    assert [g.tolist() for g in regularization.backward(params, 0.5)] == [[0.5, 1.0], [[-1.5]]]


def test_gradient_is_the_exact_central_difference_of_the_penalty():
    theta, h = np.array([3.0, -1.0]), 0.5
    for i in range(2):
        step = np.eye(2)[i] * h
        above, below = regularization.forward([theta + step], 0.25), regularization.forward([theta - step], 0.25)
        difference = (above - below) / (2 * h)
        assert difference == regularization.backward([theta], 0.25)[0][i]


@given(pair=params_and_grads, decay=st.sampled_from([0.01, 0.1, 0.5]), momentum=st.sampled_from([0.0, 0.9]))
def test_l2_in_the_loss_is_coupled_weight_decay(pair, decay, momentum):
    theta, g = pair
    penalised = g + regularization.backward([theta], decay)[0]
    hyper = {"lr": 0.1, "momentum": momentum}
    by_loss, _ = sgd.step(theta, penalised, sgd.init(theta, **hyper), **hyper)
    by_optimizer, _ = sgd.step(theta, g, sgd.init(theta, weight_decay=decay, **hyper), weight_decay=decay, **hyper)
    np.testing.assert_array_equal(by_loss, by_optimizer)
    with_l2, _ = adam.step(theta, penalised, adam.init(theta))
    coupled, _ = adam.step(theta, g, adam.init(theta, weight_decay=decay), weight_decay=decay)
    np.testing.assert_array_equal(with_l2, coupled)


@given(pair=params_and_grads, decay=st.sampled_from([0.01, 0.1, 0.5]), lr=st.sampled_from([0.1, 0.5]))
def test_plain_sgd_coupled_and_decoupled_agree(pair, decay, lr):
    theta, g = pair
    coupled, _ = sgd.step(theta, g, sgd.init(theta), lr=lr, weight_decay=decay)
    decoupled, _ = sgd.step(theta, g, sgd.init(theta), lr=lr, weight_decay=decay, weight_decay_mode="decoupled")
    # theta - lr (g + wd theta) against (theta - lr wd theta) - lr g: each a handful of roundings of terms
    # bounded by |theta| + lr |g| + lr wd |theta|
    magnitude = np.abs(theta) + lr * np.abs(g) + lr * decay * np.abs(theta)
    assert np.all(np.abs(coupled - decoupled) <= 2 * gamma(4, U) * magnitude)


def test_with_momentum_coupled_and_decoupled_differ_after_two_steps():
    theta, g, hyper = np.array([1.0]), np.array([0.0]), {"lr": 0.5, "momentum": 0.5, "weight_decay": 0.5}
    results = {}
    for mode in ("coupled", "decoupled"):
        state, param = sgd.init(theta, weight_decay_mode=mode, **hyper), theta
        for _ in range(2):
            param, state = sgd.step(param, g, state, weight_decay_mode=mode, **hyper)
        results[mode] = float(param[0])
    # coupled: buffer 0.5 then 0.5*0.5 + 0.5*0.75 = 0.625: theta 1 -> 0.75 -> 0.4375
    # decoupled: no gradient ever enters the buffer: theta 1 -> 0.75 -> 0.5625
    assert results == {"coupled": 0.4375, "decoupled": 0.5625}


def test_adam_with_l2_is_not_adamw():
    theta, g, lr, decay = np.array([1.0]), np.array([1e-3]), 0.1, 0.5
    coupled, _ = adam.step(theta, g, adam.init(theta, lr=lr, weight_decay=decay), lr=lr, weight_decay=decay)
    decoupled, _ = adamw.step(theta, g, adamw.init(theta, lr=lr, weight_decay=decay), lr=lr, weight_decay=decay)
    # Adam normalises g + decay * theta, so its first step is at most lr whatever the decay; AdamW first
    # shrinks theta by lr * decay * theta and then takes Adam's step of (almost) lr on g alone.
    assert theta[0] - lr <= coupled[0] < theta[0]
    assert decoupled[0] < coupled[0] - lr * decay * theta[0] / 2


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: regularization.forward([np.ones(2)], -1.0), ValueError,
     r"regularization\.forward: weight_decay must be in"),
    (lambda: regularization.forward(np.ones(2), 0.1), TypeError, r"params must be a sequence of arrays"),
    (lambda: regularization.backward([np.array([1, 2])], 0.1), TypeError, r"params\[0\] must be a real floating"),
])
def test_invalid_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
