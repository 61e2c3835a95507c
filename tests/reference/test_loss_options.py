"""Self-tests of the loss options against the 50-digit oracle (conformance/oracles/loss_options.py): KL divergence
in every reduction and form, BCE with logits with pos_weight, Keras's binary label smoothing, and the last-axis
reductions of the elementwise losses; and the errors naming the bad argument.

Budgets are in units of float64 rounding u = 2**-53: |observed - exact| <= ops * u * scale + ops * tiny, with
``scale`` the sum of the magnitudes of the formula's terms (KL: p (|log p| + |log q|), which the subtraction
cancels; BCE: the loss, whose terms are >= 0) summed over what the reduction adds, and ``ops`` = 16: a log or
exp (4 ulps), the subtraction, the product, the smoothing (3), the division by d or n, the oracle's rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.conformance.losses import kl_divergence as kl_room
from nnspec.conformance.oracles import loss_options as oracle
from nnspec.conformance.strategies.losses import logit_pairs, probability_pairs
from nnspec.reference import dtypes
from nnspec.reference.losses import binary_cross_entropy as bce
from nnspec.reference.losses import binary_cross_entropy_with_logits as bce_logits
from nnspec.reference.losses import huber, kl_divergence
from nnspec.reference.losses import mean_squared_error as mse

U, TINY, OPS = 2.0**-53, 2.0**-1022, 16


def _close(observed, exact, scale) -> bool:
    observed, exact = np.asarray(observed, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    same = (observed == exact) | (np.isnan(observed) & np.isnan(exact))
    return bool(np.all(same | (np.abs(observed - exact) <= OPS * U * np.asarray(scale) + OPS * TINY)))


def _kl_scale(arrays, log_target):
    p = np.exp(arrays["target"]) if log_target else arrays["target"]
    with np.errstate(divide="ignore"):
        log_p = arrays["target"] if log_target else np.log(arrays["target"])
    log_q = arrays["log_prediction"] if "log_prediction" in arrays else np.log(arrays["prediction"])
    terms = p * (np.abs(np.where(p == 0, 0.0, log_p)) + np.abs(np.where(np.isfinite(log_q), log_q, 0.0)))
    return np.where(np.isfinite(terms), terms, 0.0)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), reduction=st.sampled_from(["mean", "sum", "none", "batchmean"]),
       form=st.sampled_from(["log", "log_target", "probs"]))
def test_kl_divergence_matches_the_oracle(data, reduction, form):
    arrays = data.draw(kl_room.inputs(dtypes.FLOAT64, prediction="probs" if form == "probs" else "log",
                                      log_target=form == "log_target"))
    keywords = {"log_target": form == "log_target"}
    if form == "probs":  # the clip keeps q >= c: every value finite
        keywords = {"clip_probability": 1e-7}
        last_axis = data.draw(st.sampled_from([None, "sum"]))
        if last_axis and reduction == "batchmean":
            reduction = "sum"
    else:
        last_axis = None
    x = arrays.get("log_prediction", arrays.get("prediction"))
    name = "log_prediction" if "log_prediction" in arrays else "prediction"
    observed = kl_divergence.forward(**{name: x}, target=arrays["target"], reduction=reduction, last_axis=last_axis,
                                     **keywords)
    exact = oracle.values("kl_divergence", x, arrays["target"], reduction, prediction=form == "probs",
                          last_axis=last_axis, **keywords)
    clipped = dict(arrays)
    if form == "probs":
        clipped = {k: np.clip(v, 1e-7, 1.0) for k, v in arrays.items()}
    scale = _kl_scale(clipped, form == "log_target")
    assert _close(observed, exact, scale if reduction == "none" and last_axis is None else np.sum(scale))
    g = 1.0 if reduction != "none" else np.ones(observed.shape)
    grad = kl_divergence.backward(**{name: x}, target=arrays["target"], grad_output=g, reduction=reduction,
                                  last_axis=last_axis, **keywords)
    exact_grad = oracle.gradients("kl_divergence", x, arrays["target"], g, reduction, prediction=form == "probs",
                                  last_axis=last_axis, **keywords)
    assert _close(grad, exact_grad, np.abs(exact_grad))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), reduction=st.sampled_from(["mean", "sum", "none"]),
       smoothing=st.sampled_from([0.0, 0.1, 0.5]), last_axis=st.sampled_from([None, "mean"]))
def test_bce_with_logits_pos_weight_and_smoothing_match_the_oracle(data, reduction, smoothing, last_axis):
    arrays = data.draw(logit_pairs(dtypes.FLOAT64))
    x, y = arrays["logits"], arrays["target"]
    weight = data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=x.shape[-1], max_size=x.shape[-1]))
    keywords = {"pos_weight": weight, "label_smoothing": smoothing, "last_axis": last_axis}
    observed = bce_logits.forward(x, y, reduction, **keywords)
    exact = oracle.values("binary_cross_entropy_with_logits", x, y, reduction, **keywords)
    scale = np.abs(exact) if reduction == "none" else np.sum(np.abs(
        oracle.values("binary_cross_entropy_with_logits", x, y, "none", pos_weight=weight,
                      label_smoothing=smoothing)))
    assert _close(observed, exact, scale)
    g = 1.0 if reduction != "none" else np.ones(observed.shape)
    exact_grad = oracle.gradients("binary_cross_entropy_with_logits", x, y, g, reduction, **keywords)
    up = np.ones(x.shape[:-1] if last_axis else x.shape)
    up = up / (up.size if reduction == "mean" else 1)
    up = np.broadcast_to(up[..., None] / x.shape[-1], x.shape) if last_axis else up
    smoothed = y * (1 - smoothing) + smoothing / 2
    sig, sig_minus = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(x))
    terms = ((1 - smoothed) * sig + np.asarray(weight) * smoothed * sig_minus) * up  # |the two terms|, which cancel
    assert _close(bce_logits.backward(x, y, g, reduction, **keywords), exact_grad, terms)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), smoothing=st.sampled_from([0.1, 0.25, 1.0]), reduction=st.sampled_from(["sum", "none"]))
def test_bce_label_smoothing_matches_the_oracle(data, smoothing, reduction):
    arrays = data.draw(probability_pairs(dtypes.FLOAT64))
    p, y = np.clip(arrays["probability"], 1e-7, 1 - 1e-7), arrays["target"]
    observed = bce.forward(p, y, reduction, label_smoothing=smoothing, last_axis="mean")
    exact = oracle.values("binary_cross_entropy", p, y, reduction, label_smoothing=smoothing, last_axis="mean")
    assert _close(observed, exact, np.abs(exact) + (np.abs(np.log(p)) + np.abs(np.log1p(-p))).sum())


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_last_axis_mean_is_the_per_sample_mean(shape):
    """Keras's composition, computed independently here: mean over the last axis, then sum / mean / none; the
    backward repeats each sample's gradient along the last axis, divided by d."""
    rng = np.random.default_rng(7)
    p, t = rng.normal(size=shape), rng.normal(size=shape)
    elementwise = (p - t) ** 2
    samples = elementwise.mean(axis=-1)
    assert np.allclose(mse.forward(p, t, "none", last_axis="mean"), samples, rtol=4 * U * 8, atol=0)
    assert np.isclose(mse.forward(p, t, "sum", last_axis="mean"), samples.sum(), rtol=1e-15)
    assert np.isclose(mse.forward(p, t, "mean", last_axis="mean"), elementwise.mean(), rtol=1e-15)
    assert np.isclose(huber.forward(p, t, 1.0, "sum", last_axis="mean") * shape[-1], huber.forward(p, t, 1.0, "sum"),
                      rtol=1e-14)
    g = rng.normal(size=shape[:-1])
    expected = 2 * (p - t) * g[..., None] / shape[-1]
    assert np.allclose(mse.backward(p, t, g, "none", last_axis="mean"), expected, rtol=1e-15, atol=0)
    assert mse.forward(p, t, "none", last_axis="mean").shape == shape[:-1]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: kl_divergence.forward(np.array([0.5]), np.array([0.5])), "log_prediction must lie in"),
    (lambda: kl_divergence.forward(np.array([-1.0]), np.array([1.5])), "target must lie in"),
    (lambda: kl_divergence.forward(np.array([-1.0]), np.array([0.5]), "batchmean", last_axis="sum"), "batchmean"),
    (lambda: kl_divergence.forward(np.array([-1.0]), np.array([0.5]), "average"), "reduction must be one of"),
    (lambda: kl_divergence.forward(target=np.array([0.5])), "exactly one of log_prediction and prediction"),
    (lambda: bce_logits.forward(np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=[1.0, 2.0]), "pos_weight must be"),
    (lambda: bce_logits.forward(np.zeros(2), np.zeros(2), pos_weight=[-1.0, 1.0]), "pos_weight must be finite"),
    (lambda: bce.forward(np.zeros(2), np.zeros(2), label_smoothing=1.5), "label_smoothing"),
    (lambda: mse.forward(np.array(1.0), np.array(1.0), last_axis="mean"), "needs an input with at least one axis"),
    (lambda: huber.forward(np.zeros(2), np.zeros(2), last_axis="max"), "last_axis must be one of"),
])
def test_bad_options_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
