"""Self-tests of reference/minibatch.py (docs/spec/minibatch.md).

Oracle: exact rational arithmetic (``fractions.Fraction``) on the per-example losses and gradients the loss
function returns, so only the reference's own averaging is under test. The model is linear least squares,
loss_i = (x_i . w + b - y_i)^2 / 2 with gradients (r_i x_i, r_i), r_i = x_i . w + b - y_i.

Budget (Higham 3.1): a mean of n terms computed in any order is within gamma(n) * sum|terms| / n of the exact
mean, plus one rounding of the division; a weighted mean of k micro-batch means with integer weights likewise
with gamma(k + 1). Plus errormodel.UNDERFLOW_FLOOR * tiny.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.conformance import errormodel
from nnspec.conformance.comparison import compare
from nnspec.reference import dtypes, minibatch

U = dtypes.FLOAT64.unit_roundoff
FLOOR = errormodel.UNDERFLOW_FLOOR * dtypes.FLOAT64.tiny


def least_squares(params, x, y):
    """The loss and gradient of one example (a batch of one), for a linear model params = (w, b)."""
    w, b = params
    residual = float(x[0] @ w + b - y[0])
    return 0.5 * residual**2, (residual * x[0], np.array(residual))


@st.composite
def regression_batches(draw, *, min_size: int = 1, max_size: int = 12) -> tuple:
    """params (w of 1..3 features, b), x (n, features) and y (n,), every value in [-10, 10]."""
    n, features = draw(st.integers(min_size, max_size)), draw(st.integers(1, 3))
    values = st.floats(-10.0, 10.0)
    w = draw(hnp.arrays(np.float64, (features,), elements=values))
    params = (w, np.array(draw(values)))
    return params, draw(hnp.arrays(np.float64, (n, features), elements=values)), draw(hnp.arrays(np.float64, (n,),
                                                                                                   elements=values))


def _mean_budget(terms: list[np.ndarray]) -> np.ndarray:
    n = len(terms)
    magnitude = sum(np.abs(t) for t in terms) / n
    return errormodel.gamma(n, U) * magnitude + U * magnitude + FLOOR


def _exact_mean(terms: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack([np.asarray(t, dtype=object) for t in terms])
    exact = np.vectorize(Fraction, otypes=[object])(stacked).sum(axis=0) / len(terms)
    return np.vectorize(float)(exact)


@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_batches_visit_every_example_once(n, batch_size, seed):
    epoch = minibatch.batches(n, batch_size, rng=np.random.default_rng(seed))
    assert sorted(np.concatenate(epoch).tolist() if epoch else []) == list(range(n))
    assert all(len(b) == batch_size for b in epoch[:-1]) and all(b.dtype == np.int64 for b in epoch)


@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_batches_drop_last_drops_only_the_partial_batch(n, batch_size, seed):
    kept = minibatch.batches(n, batch_size, rng=np.random.default_rng(seed), drop_last=True)
    assert len(kept) == n // batch_size and all(len(b) == batch_size for b in kept)
    assert len(set(np.concatenate(kept).tolist() if kept else [])) == n - n % batch_size


@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_batches_reproducible_from_the_seed(n, batch_size, seed):
    """The same seed gives the same sequence of epochs; each call draws the next epoch from the generator."""
    first, second = np.random.default_rng(seed), np.random.default_rng(seed)
    epochs = [[b.tolist() for b in minibatch.batches(n, batch_size, rng=first)] for _ in range(3)]
    again = [[b.tolist() for b in minibatch.batches(n, batch_size, rng=second)] for _ in range(3)]
    assert epochs == again


def test_batches_without_shuffle_are_in_order():
    assert [b.tolist() for b in minibatch.batches(7, 3, shuffle=False)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in minibatch.batches(7, 3, shuffle=False, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_examples": -1, "batch_size": 2, "shuffle": False}, ValueError, r"batches: n_examples must be >= 0"),
    ({"n_examples": 4, "batch_size": 0, "shuffle": False}, ValueError, r"batches: batch_size must be >= 1"),
    ({"n_examples": 4.0, "batch_size": 2, "shuffle": False}, TypeError, r"batches: n_examples must be an int"),
    ({"n_examples": 4, "batch_size": 2}, ValueError, r"minibatch\.batches: rng must be a numpy\.random\.Generator"),
    ({"n_examples": 4, "batch_size": 2, "rng": 0}, TypeError, r"minibatch\.batches: rng must be a numpy"),
    ({"n_examples": 4, "batch_size": 2, "shuffle": 1}, TypeError, r"minibatch\.batches: shuffle must be a bool"),
])
def test_batches_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        minibatch.batches(**kwargs)


@given(problem=regression_batches())
def test_mean_loss_and_gradient_is_the_mean_over_examples(problem):
    params, x, y = problem
    per_example = [least_squares(params, x[i:i + 1], y[i:i + 1]) for i in range(len(x))]
    loss, (grad_w, grad_b) = minibatch.mean_loss_and_gradient(least_squares, params, x, y)
    losses = [np.array(value) for value, _ in per_example]
    for observed, terms in ((loss, losses), (grad_w, [g[0] for _, g in per_example]),
                            (grad_b, [g[1] for _, g in per_example])):
        outcome = compare(observed, _exact_mean(terms), _mean_budget(terms))
        assert outcome.ok, outcome.describe()


@given(problem=regression_batches(), seed=st.integers(0, 2**32 - 1))
def test_mean_loss_and_gradient_invariant_to_permutation(problem, seed):
    """Any order of the examples gives the same mean, up to the rounding of two summation orders."""
    params, x, y = problem
    order = np.random.default_rng(seed).permutation(len(x))
    loss, grads = minibatch.mean_loss_and_gradient(least_squares, params, x, y)
    loss_p, grads_p = minibatch.mean_loss_and_gradient(least_squares, params, x[order], y[order])
    per_example = [least_squares(params, x[i:i + 1], y[i:i + 1]) for i in range(len(x))]
    assert abs(loss - loss_p) <= 2 * _mean_budget([np.array(value) for value, _ in per_example])
    for k in range(2):
        assert np.all(np.abs(grads[k] - grads_p[k]) <= 2 * _mean_budget([g[k] for _, g in per_example]))


@given(problem=regression_batches(min_size=2), cuts=st.lists(st.integers(1, 11), min_size=1, max_size=4))
def test_accumulate_equals_the_full_batch(problem, cuts):
    """Micro-batches of unequal sizes, weighted by size, give the full-batch mean gradient."""
    params, x, y = problem
    bounds = sorted({c for c in cuts if c < len(x)} | {0, len(x)})
    parts = [(x[lo:hi], y[lo:hi]) for lo, hi in zip(bounds, bounds[1:])]
    means = [minibatch.mean_loss_and_gradient(least_squares, params, px, py)[1] for px, py in parts]
    combined = minibatch.accumulate(means, [len(px) for px, _ in parts])
    per_example = [least_squares(params, x[i:i + 1], y[i:i + 1])[1] for i in range(len(x))]
    for k in range(2):
        terms = [g[k] for g in per_example]
        budget = 2 * _mean_budget(terms) + errormodel.gamma(len(parts) + 1, U) * sum(np.abs(t) for t in terms) / len(x)
        outcome = compare(combined[k], _exact_mean(terms), budget)
        assert outcome.ok, outcome.describe()


def test_accumulate_equal_weighting_differs_for_unequal_sizes():
    """Hand-checked: means 1 (one example) and 4 (two examples). Full batch: (1 + 4 + 4) / 3 = 3. Dividing by k
    (Keras's gradient_accumulation_steps, optax.MultiSteps, a "loss / k" loop): (1 + 4) / 2 = 2.5."""
    means, sizes = [np.array([1.0]), np.array([4.0])], [1, 2]
    assert minibatch.accumulate(means, sizes).tolist() == [3.0]
    assert minibatch.accumulate(means, sizes, weighting="equal").tolist() == [2.5]
    same = minibatch.accumulate(means, [2, 2])
    assert minibatch.accumulate(means, [2, 2], weighting="equal").tolist() == same.tolist()


def test_minibatch_keeps_float32_and_does_not_mutate():
    grads = [np.array([1.0, 2.0], dtype=np.float32), np.array([3.0, 4.0], dtype=np.float32)]
    copies = [g.copy() for g in grads]
    combined = minibatch.accumulate(grads, [1, 3])
    assert combined.dtype == np.float32 and combined.tolist() == [2.5, 3.5]
    assert all(np.array_equal(g, c) for g, c in zip(grads, copies))


@pytest.mark.parametrize("args, error, match", [
    (([], []), ValueError, r"minibatch\.accumulate: micro_batch_gradients and micro_batch_sizes must have the same"),
    (([np.zeros(1)], [1, 2]), ValueError, r"minibatch\.accumulate: micro_batch_gradients and micro_batch_sizes"),
    (([np.zeros(1)], [0]), ValueError, r"minibatch\.accumulate: micro_batch_sizes\[i\] must be >= 1"),
    (([np.zeros(1)], [1.5]), TypeError, r"minibatch\.accumulate: micro_batch_sizes\[i\] must be an int"),
    (([np.zeros(1), np.zeros(2)], [1, 1]), ValueError, r"minibatch\.accumulate: gradient must have the same shape"),
    (([np.zeros(1, dtype=int)], [1]), TypeError, r"minibatch\.accumulate: gradient must be a real floating-point"),
])
def test_accumulate_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        minibatch.accumulate(*args)


def test_mean_loss_and_gradient_rejects_empty_and_mismatched_batches():
    params = (np.zeros(1), np.array(0.0))
    with pytest.raises(ValueError, match=r"minibatch\.mean_loss_and_gradient: x must hold at least one example"):
        minibatch.mean_loss_and_gradient(least_squares, params, np.zeros((0, 1)), np.zeros(0))
    with pytest.raises(ValueError, match=r"minibatch\.mean_loss_and_gradient: y must have 2 examples"):
        minibatch.mean_loss_and_gradient(least_squares, params, np.zeros((2, 1)), np.zeros(3))
