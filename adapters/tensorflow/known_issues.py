"""TensorFlow / Keras known issues: disagreements with the spec found by nnspec that are framework bugs, not
conventions.

Each is written up in docs/findings.md (section "TensorFlow / Keras") with its minimal input and replay command.
Only the inputs named by ``where`` are excused; everything else about the primitive is still checked. Verified
with tensorflow-cpu 2.21.0 and keras 3.15.1 (CPU). The predicates several frameworks share are in
known_issue_rules.py.
"""

from __future__ import annotations

import numpy as np

from nnspec.adapters.base import KnownIssue
from nnspec.adapters.known_issue_rules import (
    gelu_grad_overflows,
    gelu_tanh_grad_overflows,
    infinite,
    mean_overflow_issues,
    minus_infinity,
    per_output,
    sigmoid_underflows,
)

__all__ = ["KNOWN_ISSUES"]


def _bce_logits_infinite(arrays, params, dtype):
    """Per sample: Keras averages each sample over the last axis (docs/spec/losses.md#last-axis)."""
    x, y = arrays["logits"], arrays["target"]
    return per_output(np.any(np.isinf(x) & ((x > 0) | (y == 0)), axis=-1), params)


def _weighted_bce_zero_logit(arrays, params, dtype):
    """pos_weight given (tf.nn.weighted_cross_entropy_with_logits) and the logit exactly 0: every gradient element
    there (docs/findings.md#tf-weighted-cross-entropy-grad-at-zero)."""
    return (params.get("pos_weight") is not None) & (np.asarray(arrays["logits"]) == 0)


def _weighted_bce_grad_cancellation(arrays, params, dtype):
    """pos_weight given, 0 < z < 1 and a logit x < 0: TensorFlow's gradient (1 - z) - l (1 - sigmoid(x)), with
    l = 1 + (q - 1) z, rounds two terms near 1 and cancels them; excused where that amplifies their rounding more
    than 8-fold, (|1 - z| + |l|) > 8 |l sigmoid(x) - q z|
    (docs/findings.md#tf-weighted-cross-entropy-grad-cancellation)."""
    if params.get("pos_weight") is None:
        return np.zeros(np.shape(arrays["logits"]), dtype=bool)
    x, z = np.asarray(arrays["logits"], dtype=np.float64), np.asarray(arrays["target"], dtype=np.float64)
    q = np.broadcast_to(np.asarray(params["pos_weight"], dtype=np.float64), x.shape)
    weight = 1 + (q - 1) * z  # TensorFlow's l
    with np.errstate(over="ignore"):
        exact = weight / (1 + np.exp(-x)) - q * z
    return (x < 0) & (z > 0) & (z < 1) & (np.abs(1 - z) + np.abs(weight) > 8 * np.abs(exact))


def _float32_range(low: float, high: float, *, of_magnitude: bool = False):
    """``where`` for a float32 elementwise defect that a sweep of every float32 input found over budget exactly
    for low <= x <= high (or low <= |x| <= high), the extremes bisected from the sweep; nothing in other dtypes."""
    low, high = float(np.float32(low)), float(np.float32(high))

    def where(arrays, params, dtype):
        x = np.asarray(arrays["x"], dtype=np.float64)
        x = np.abs(x) if of_magnitude else x
        return (x >= low) & (x <= high) if dtype == "float32" else np.zeros(np.shape(x), dtype=bool)

    return where


#: Eigen's float32 tanh, up to 6.14 ulps off (findings: tf-tanh-float32-accuracy).
_tanh_float32_inaccurate = _float32_range(1.5467825, 7.9711924, of_magnitude=True)
#: Eigen's float32 logistic, up to 4.6 ulps off (findings: tf-sigmoid-float32-accuracy).
_sigmoid_float32_inaccurate = _float32_range(-70.00764465332031, -0.6924576163291931)
#: tf.nn.silu, x * sigmoid(x) with the same logistic (findings: tf-sigmoid-float32-accuracy).
_silu_float32_inaccurate = _float32_range(-72.77992248535156, -1.062078833580017)


_FINDINGS = "docs/findings.md"
KNOWN_ISSUES = (
    KnownIssue("tf-tanh-float32-accuracy", "tanh", "forward", _tanh_float32_inaccurate,
               "float32 tf.math.tanh is up to 6.14 ulps off for 1.547 <= |x| <= 7.971 (Eigen's rational "
               "approximation; spec: within the 4-ulp libm allowance)", f"{_FINDINGS}#tf-tanh-float32-accuracy"),
    KnownIssue("tf-sigmoid-float32-accuracy", "sigmoid", "forward", _sigmoid_float32_inaccurate,
               "float32 tf.math.sigmoid is up to 4.6 ulps off for -70.008 <= x <= -0.692 (Eigen's logistic; spec: "
               "within the 4-ulp libm allowance)", f"{_FINDINGS}#tf-sigmoid-float32-accuracy"),
    KnownIssue("tf-sigmoid-float32-accuracy", "silu", "forward", _silu_float32_inaccurate,
               "float32 tf.nn.silu, x * sigmoid(x) with the same logistic, is up to 4.6 ulps off (error/budget 1.31) "
               "for -72.780 <= x <= -1.062", f"{_FINDINGS}#tf-sigmoid-float32-accuracy"),
    KnownIssue("tf-gelu-at-infinity", "gelu", "forward", minus_infinity,
               "gelu(-inf) is NaN (spec: the limit 0)", f"{_FINDINGS}#tf-gelu-at-infinity"),
    KnownIssue("tf-gelu-at-infinity", "gelu_tanh", "forward", minus_infinity,
               "gelu(-inf, approximate=True) is NaN (spec: the limit 0)", f"{_FINDINGS}#tf-gelu-at-infinity"),
    KnownIssue("tf-gelu-at-infinity", "gelu", "vjp", infinite,
               "the GELU derivative at +-inf is NaN (spec: the limits 1 and 0)", f"{_FINDINGS}#tf-gelu-at-infinity"),
    KnownIssue("tf-silu-at-the-ends", "silu", "forward", minus_infinity,
               "tf.nn.silu(-inf) is NaN (features * sigmoid(features) = -inf * 0); spec: the limit -0",
               f"{_FINDINGS}#silu-at-the-ends"),
    KnownIssue("tf-silu-at-the-ends", "silu", "vjp", infinite,
               "the silu gradient at +-inf is NaN (x * (1 - sigmoid) = inf * 0); spec: the limits 1 and 0",
               f"{_FINDINGS}#silu-at-the-ends"),
    *(KnownIssue("tf-silu-at-the-ends", "silu", kind, sigmoid_underflows(opmath=False),
                 "silu and its gradient are 0 once sigmoid(x) underflows (x < -87.34 in float32, -708.4 in "
                 "float64) while the exact value is still normal", f"{_FINDINGS}#silu-at-the-ends")
      for kind in ("forward", "vjp")),
    KnownIssue("tf-gelu-grad-overflow", "gelu", "vjp", gelu_grad_overflows,
               "the GELU derivative is NaN once grad_output * x / sqrt(pi) overflows (an inf times exp(-x^2/2) "
               "= 0); spec: grad_output for x -> +inf, 0 for x -> -inf", f"{_FINDINGS}#tf-gelu-grad-overflow"),
    KnownIssue("tf-gelu-grad-overflow", "gelu_tanh", "vjp", gelu_tanh_grad_overflows,
               "the tanh-GELU derivative is NaN once x*x overflows (|x| >= sqrt(max)); spec: 1 for x -> +inf, "
               "0 for x -> -inf", f"{_FINDINGS}#tf-gelu-grad-overflow"),
    KnownIssue("tf-sigmoid-cross-entropy-infinite-logits", "binary_cross_entropy_with_logits", "forward",
               _bce_logits_infinite,
               "tf.nn.sigmoid_cross_entropy_with_logits is NaN at logits +inf (any target: inf - inf or inf * 0) "
               "and at -inf with target 0 (-inf * 0); spec: 0 where the target agrees, +inf otherwise",
               f"{_FINDINGS}#tf-sigmoid-cross-entropy-infinite-logits"),
    KnownIssue("tf-weighted-cross-entropy-grad-at-zero", "binary_cross_entropy_with_logits", "vjp",
               _weighted_bce_zero_logit,
               "the gradient of tf.nn.weighted_cross_entropy_with_logits at logit 0 is 1 - z (autodiff of max(-x, 0) "
               "and |x| with slope 0 at their kink); spec: ((1 - z) - q z) / 2",
               f"{_FINDINGS}#tf-weighted-cross-entropy-grad-at-zero"),
    KnownIssue("tf-weighted-cross-entropy-grad-cancellation", "binary_cross_entropy_with_logits", "vjp",
               _weighted_bce_grad_cancellation,
               "the gradient of tf.nn.weighted_cross_entropy_with_logits at a logit x < 0 and a target 0 < z < 1 is "
               "(1 - z) - l (1 - sigmoid(x)), two rounded terms near 1 that cancel: an absolute error of about u "
               "where the exact l sigmoid(x) - q z is far smaller",
               f"{_FINDINGS}#tf-weighted-cross-entropy-grad-cancellation"),
    *mean_overflow_issues("keras-mean-overflow",
                          "the 'sum_over_batch_size' reduction sums the losses in the input dtype and then divides: "
                          "the mean overflows to inf when the sum exceeds the dtype's range although the mean is "
                          "finite"),
)


def _nan_probability(arrays, params, dtype):
    return np.isnan(arrays["probability"])


def _finite_entry_of_nan_row(arrays, params, dtype):
    """float32 (and bfloat16) rows that hold a NaN: the entries that are not NaN themselves."""
    x = np.asarray(arrays["x"])
    row_has_nan = np.any(np.isnan(x), axis=params.get("axis", -1), keepdims=True)
    return (dtype in ("float32", "bfloat16")) & row_has_nan & ~np.isnan(x)


KNOWN_ISSUES += (
    KnownIssue("tf-softmax-nan-row-float32", "softmax", "forward", _finite_entry_of_nan_row,
               "float32 tf.nn.softmax on CPU gives 0 at every entry of a row that holds a NaN, except the NaN itself "
               "(softmax([nan, 0]) = [nan, 0]); float64 and log_softmax give the NaN row; spec: the whole row NaN",
               f"{_FINDINGS}#tf-softmax-nan-row-float32"),
    KnownIssue("keras-bce-grad-at-nan", "binary_cross_entropy", "vjp", _nan_probability,
               "the gradient of keras.losses.binary_crossentropy at a NaN probability is 0: the loss clips p to "
               "[eps, 1 - eps] and the clip's gradient is 0 outside its range, which NaN is; spec: NaN",
               f"{_FINDINGS}#keras-bce-grad-at-nan"),
)


def _nan_target_row(arrays, params, dtype):
    target = np.asarray(arrays["target"])
    return np.broadcast_to(np.any(np.isnan(target), axis=-1, keepdims=True), target.shape)


KNOWN_ISSUES += (
    KnownIssue("tf-cross-entropy-grad-nan-target", "softmax_cross_entropy_probs", "vjp", _nan_target_row,
               "the gradient of tf.nn.softmax_cross_entropy_with_logits is softmax - target, which assumes that each "
               "target row sums to 1: a NaN target entry leaves the rest of its row finite; spec: "
               "softmax * sum(q) - q, the whole row NaN", f"{_FINDINGS}#tf-cross-entropy-grad-nan-target"),
)
