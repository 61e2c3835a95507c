"""Self-tests of the softmax cross-entropy (labels, probabilities, label smoothing) against the 50-digit oracle.

Budgets are in units of float64 rounding u = 2**-53 (docs/spec/losses.md#softmax-cross-entropy-labels), per row
of C classes, with z = logits - row max, lse = log sum exp(z), q the smoothed target, s = softmax:
    forward:  scale sum_c q_c (|z_c| + lse + 1), 2C + 7 ops  (the "+ 1": the log of a sum near 1 has an
              absolute error of a few u)
    backward: scale (s_j sum(q) (1 + |z_j|) + q_j) |g / N|, 3C + 8 ops
A reduction over N rows adds N - 1 ops on the sum of the scales, "mean" one more. Each count includes one op for
the oracle's own rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.oracles import losses as oracle
from nnspec.conformance.strategies.activations import grad_outputs, rows
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.conformance.strategies.losses import label_smoothings, reductions
from nnspec.reference import dtypes
from nnspec.reference.losses import softmax_cross_entropy as ce

U = 2.0**-53
TINY = 2.0**-1022
INF = np.inf
EXTREMES = [0.0, 1.0, -1.0, 1e8, -1e8, 1e300, -1e300, INF, -INF]


def _within_budget(observed, exact, scale, ops) -> bool:
    """|observed - exact| <= ops * u * scale + ops * tiny; a non-finite exact value must be met exactly."""
    observed, exact = np.asarray(observed, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    same = (observed == exact) | (np.isnan(observed) & np.isnan(exact))
    with np.errstate(invalid="ignore"):
        close = np.isfinite(exact) & (np.abs(observed - exact) <= ops * U * scale + ops * TINY)
    return observed.shape == exact.shape and bool(np.all(same | close))


def _safe_product(a, b):
    with np.errstate(invalid="ignore"):
        return np.where((a == 0) | (b == 0), 0.0, a * b)


@st.composite
def extreme_rows(draw):
    """(N, C) logits from huge, infinite and tied values: equal huge logits, +-inf ties, all -inf rows."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    return np.array(
        draw(st.lists(st.sampled_from(EXTREMES), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))
    ).reshape(shape)


@st.composite
def batches(draw, targets: str):
    """logits (moderate rows with large shifts, or extreme rows) and labels (N,) or probability rows (N, C),
    which are not normalised: rows sum to anything in [0, 2 C]."""
    logits = draw(st.one_of(rows(dtypes.FLOAT64), extreme_rows()))
    n, classes = logits.shape
    if targets == "labels":
        return logits, np.array(
            draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)), dtype=np.int64
        )
    return logits, draw(float_arrays(dtypes.FLOAT64, (n, classes), min_value=0.0, max_value=2.0))


def _smoothed(logits, target, smoothing):
    classes = logits.shape[1]
    distribution = np.eye(classes)[target] if target.dtype.kind in "iu" else target
    return (1 - smoothing) * distribution + smoothing / classes


def _shifted(logits):
    """logits - row max, with ties at the max (+inf too) at 0 (for budgets only: an all -inf row gets 0s)."""
    top = np.max(logits, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return np.where(logits == top, 0.0, logits - top)


def _forward_budget(logits, target, smoothing, reduction):
    q, z = _smoothed(logits, target, smoothing), _shifted(logits)
    lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    scale = np.sum(_safe_product(q, np.abs(z) + lse + 1), axis=1)
    ops, n = 2 * logits.shape[1] + 7, logits.shape[0]
    if reduction == "none":
        return scale, ops
    return (np.sum(scale) / n, ops + n) if reduction == "mean" else (np.sum(scale), ops + n - 1)


def _backward_scale(logits, target, smoothing, g, reduction):
    q, z = _smoothed(logits, target, smoothing), _shifted(logits)
    softmax = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
    upstream = np.asarray(g, dtype=np.float64) / (logits.shape[0] if reduction == "mean" else 1)
    upstream = upstream[:, None] if reduction == "none" else upstream
    weighted = softmax * np.sum(q, axis=1, keepdims=True)
    return (weighted + _safe_product(weighted, np.abs(z)) + q) * np.abs(upstream)


def _oracle_name(target):
    return "softmax_cross_entropy" if target.dtype.kind in "iu" else "softmax_cross_entropy_probs"


targets = st.sampled_from(["labels", "probabilities"])


@given(targets.flatmap(batches), reductions, label_smoothings)
def test_softmax_cross_entropy_forward_matches_oracle(batch, reduction, smoothing):
    logits, target = batch
    exact = oracle.loss_values(_oracle_name(target), logits, target, reduction, label_smoothing=smoothing)
    scale, ops = _forward_budget(logits, target, smoothing, reduction)
    assert _within_budget(ce.forward(logits, target, reduction, smoothing), exact, scale, ops)


@given(targets.flatmap(batches), reductions, label_smoothings, st.data())
def test_softmax_cross_entropy_backward_matches_oracle(batch, reduction, smoothing, data):
    logits, target = batch
    n, classes = logits.shape
    g = data.draw(grad_outputs(dtypes.FLOAT64, (n,) if reduction == "none" else ()))
    exact = oracle.loss_gradients(
        _oracle_name(target), logits, target, g, reduction, label_smoothing=smoothing
    )
    scale = _backward_scale(logits, target, smoothing, g, reduction)
    assert _within_budget(ce.backward(logits, target, g, reduction, smoothing), exact, scale, 3 * classes + 8)


def test_softmax_cross_entropy_equal_huge_logits_give_log_2():
    logits, labels = np.array([[1e8, 1e8], [1e300, 1e300]]), np.array([0, 1])
    np.testing.assert_array_equal(ce.forward(logits, labels, "none"), [np.log(2.0), np.log(2.0)])
    np.testing.assert_array_equal(ce.backward(logits, labels, 1.0, "sum"), [[-0.5, 0.5], [0.5, -0.5]])


INFINITE_ROWS = [  # logits, label, loss, gradient: docs/spec/losses.md#infinite-logits
    ([INF, 0.0], 0, 0.0, [0.0, 0.0]),
    ([INF, 0.0], 1, INF, [1.0, -1.0]),
    ([INF, INF, 0.0], 0, np.log(2.0), [-0.5, 0.5, 0.0]),
    ([-INF, -INF], 1, INF, [0.0, -1.0]),  # a row of only -inf has no mass (activations.md#log-softmax)
    ([-INF, 0.0], 0, INF, [-1.0, 1.0]),
    ([-INF, 0.0], 1, 0.0, [0.0, 0.0]),
]


@pytest.mark.parametrize("row, label, loss, gradient", INFINITE_ROWS)
def test_softmax_cross_entropy_infinite_logit_pins(row, label, loss, gradient):
    logits, labels = np.array([row]), np.array([label])
    assert ce.forward(logits, labels) == loss
    np.testing.assert_array_equal(ce.backward(logits, labels), [gradient])


@given(batches("labels"))
def test_softmax_cross_entropy_label_smoothing_zero_is_plain(batch):
    logits, labels = batch
    np.testing.assert_array_equal(ce.forward(logits, labels, "none", 0.0), ce.forward(logits, labels, "none"))
    np.testing.assert_array_equal(
        ce.backward(logits, labels, 1.0, "sum", 0.0), ce.backward(logits, labels, 1.0, "sum")
    )


@given(batches("labels"), st.floats(0.0, 1.0, allow_subnormal=False))  # a subnormal eps / C underflows to 0
def test_softmax_cross_entropy_label_smoothing_mixes_target_and_uniform(batch, smoothing):
    logits, labels = batch
    uniform = np.full(logits.shape, 1.0 / logits.shape[1])
    plain, spread = ce.forward(logits, labels, "none"), ce.forward(logits, uniform, "none")
    mixed = _safe_product(1 - smoothing, plain) + _safe_product(smoothing, spread)
    scale, ops = _forward_budget(logits, labels, smoothing, "none")
    assert _within_budget(ce.forward(logits, labels, "none", smoothing), mixed, 2 * scale, 2 * ops)


@given(batches("labels"), label_smoothings)
def test_softmax_cross_entropy_one_hot_probabilities_equal_labels(batch, smoothing):
    logits, labels = batch
    one_hot = np.eye(logits.shape[1])[labels]
    np.testing.assert_array_equal(
        ce.forward(logits, one_hot, "none", smoothing), ce.forward(logits, labels, "none", smoothing)
    )
    np.testing.assert_array_equal(
        ce.backward(logits, one_hot, 1.0, "mean", smoothing),
        ce.backward(logits, labels, 1.0, "mean", smoothing),
    )


@given(targets.flatmap(batches), st.data())
def test_softmax_cross_entropy_permuting_batch_keeps_mean(batch, data):
    logits, target = batch
    order = np.array(data.draw(st.permutations(range(logits.shape[0]))))
    per_row = ce.forward(logits, target, "none")
    scale = np.sum(np.where(np.isfinite(per_row), per_row, 0.0)) / len(per_row)
    assert _within_budget(
        ce.forward(logits[order], target[order]), ce.forward(logits, target), scale, 2 * len(order)
    )


@given(targets.flatmap(batches), label_smoothings)
def test_softmax_cross_entropy_nonnegative(batch, smoothing):
    logits, target = batch
    assert np.all(ce.forward(logits, target, "none", smoothing) >= 0)


@given(batches("labels"), label_smoothings)
def test_softmax_cross_entropy_gradient_rows_sum_to_zero(batch, smoothing):
    logits, labels = batch
    scale = np.sum(_backward_scale(logits, labels, smoothing, 1.0, "sum"), axis=1)
    row_sums = np.sum(ce.backward(logits, labels, 1.0, "sum", smoothing), axis=1)
    row_sums = np.where(np.all(logits == -INF, axis=1), 0.0, row_sums)  # a row of only -inf: gradient -q
    assert _within_budget(
        row_sums, np.zeros_like(row_sums), scale, logits.shape[1] * (3 * logits.shape[1] + 8)
    )


@given(targets.flatmap(batches))
def test_softmax_cross_entropy_mean_is_sum_over_rows(batch):
    logits, target = batch
    n = logits.shape[0]
    assert ce.forward(logits, target, "none").shape == (n,)
    np.testing.assert_array_equal(ce.forward(logits, target, "mean"), ce.forward(logits, target, "sum") / n)
    np.testing.assert_array_equal(ce.backward(logits, target), ce.backward(logits, target, 1.0 / n, "sum"))


@given(targets.flatmap(batches))
def test_softmax_cross_entropy_inputs_not_mutated(batch):
    logits, target = batch
    g = np.ones(logits.shape[0])
    copies = logits.copy(), target.copy(), g.copy()
    ce.forward(logits, target, "none", 0.1)
    ce.backward(logits, target, g, "none", 0.1)
    for before, after in zip(copies, (logits, target, g)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int32, np.uint64])
def test_softmax_cross_entropy_float32_in_float32_out(label_dtype):
    logits, labels = (
        np.array([[0.0, 1.0], [2.0, -1.0]], dtype=np.float32),
        np.array([1, 0], dtype=label_dtype),
    )
    assert ce.forward(logits, labels).dtype == np.float32
    assert ce.backward(logits, labels).dtype == np.float32
    assert ce.forward(logits, np.eye(2, dtype=np.float32)[labels]).dtype == np.float32
    assert ce.forward(logits, np.eye(2)[labels]).dtype == np.float64  # float64 probabilities widen


def test_softmax_cross_entropy_empty_batch():
    logits, labels = np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    assert np.isnan(ce.forward(logits, labels))
    assert ce.forward(logits, labels, "sum") == 0.0
    assert ce.forward(logits, labels, "none").shape == (0,)
    assert ce.backward(logits, labels).shape == (0, 3)


_X, _L, _CE = np.zeros((2, 3)), np.array([0, 2]), "softmax_cross_entropy"
BAD = [
    (ce.forward, (np.zeros(3), np.array(0)), {}, ValueError, rf"{_CE}.forward: logits must have shape"),
    (ce.forward, (np.zeros((2, 0)), _L), {}, ValueError, r"logits must have at least one class"),
    (ce.forward, (_X.astype(int), _L), {}, TypeError, rf"{_CE}.forward: logits must be a real"),
    (ce.forward, (_X.astype(complex), _L), {}, TypeError, r"logits must be a real floating"),
    (ce.forward, (_X, np.array([0, 3])), {}, ValueError, r"target labels must lie in \[0, 2\], got 3"),
    (ce.backward, (_X, np.array([-1, 0])), {}, ValueError, rf"{_CE}.backward: target labels must lie"),
    (ce.forward, (_X, np.array([0, 1, 2])), {}, ValueError, r"target must have shape \(2\)"),
    (ce.forward, (_X, np.array([0.0, 1.0])), {}, ValueError, r"target must have shape \(2, 3\)"),
    (ce.forward, (_X, np.array([True, False])), {}, TypeError, r"target must be integer class labels or"),
    (ce.forward, (_X, -np.eye(3)[_L]), {}, ValueError, r"target must lie in \[0, inf\]"),
    (ce.forward, (_X, _L), {"label_smoothing": 1.5}, ValueError, r"label_smoothing must be in \[0.0, 1.0\]"),
    (ce.forward, (_X, _L), {"reduction": "batchmean"}, ValueError, r"reduction must be one of"),
    (ce.backward, (_X, _L, np.ones(2)), {}, ValueError, rf"{_CE}.backward: grad_output must have"),
    (ce.backward, (_X, _L, np.ones(3), "none"), {}, ValueError, r"grad_output must have shape \(2\)"),
]


@pytest.mark.parametrize("function, args, kwargs, error, match", BAD)
def test_softmax_cross_entropy_rejects_bad_input(function, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(*args, **kwargs)
