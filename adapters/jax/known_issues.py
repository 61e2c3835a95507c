"""JAX's known issues: disagreements with the spec found by nnspec that are framework bugs, not conventions.

Each is written up in docs/findings.md (section "JAX") with its minimal input and replay command. Only the
inputs named by ``where`` are excused; everything else about the primitive is still checked. Verified with
jax 0.10.2 and optax 0.2.8 (CPU). The predicates several frameworks share are in known_issue_rules.py.
"""

from __future__ import annotations

import numpy as np

from nnspec.adapters.base import KnownIssue
from nnspec.adapters.known_issue_rules import (
    gelu_grad_overflows,
    infinite,
    mean_overflow_issues,
    minus_infinity,
    per_output,
    reference_trajectory,
    sigmoid_underflows,
    silu_grad_overflows,
)
from nnspec.reference import dtypes
from nnspec.reference.activations import log_softmax

__all__ = ["KNOWN_ISSUES"]


def _in_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(x).astype(dtype)


def _leaky_relu_at_zero(arrays, params, dtype):
    return arrays["x"] == 0  # +0 and -0: jnp.where(x >= 0, x, slope * x) takes the x branch


def _cube_derivative_overflows(arrays, params, dtype):
    """3 * x**2, the derivative of x**3 inside tanh-GELU, overflows in dtype (then inf * tanh' = inf * 0)."""
    with np.errstate(over="ignore"):
        x = _in_dtype(arrays["x"], dtype)
        return np.isinf(3 * (x * x))


def _bce_logits_infinite_agreeing(arrays, params, dtype):
    x, y = arrays["logits"], arrays["target"]
    return per_output(((x == np.inf) & (y == 1)) | ((x == -np.inf) & (y == 0)), params)


def _softplus_cancelling_branch(arrays, params, dtype):
    """x > 0: the derivative is exp(x - softplus(x)), a difference of two rounded numbers close to x; x < -4: the
    difference itself, of magnitude |x|, rounds by up to u |x| in the exponent (float32 x = -14.5: 8.4 ulps, found
    by ci/false_alarms.py); for -4 <= x < 0 that stays within the budget, so those inputs are still judged."""
    x = arrays["x"]
    return (x > 0) | (x < -4)


def _bce_logits_cancelling_branch(arrays, params, dtype):
    """The terms y * sigmoid(-x) (for x < 0) and (1 - y) * sigmoid(x) (for x > 0), each formed as
    exp(z - softplus(z)) with z > 0 (see _softplus_cancelling_branch)."""
    x, y = arrays["logits"], arrays["target"]
    return ((x < 0) & (y > 0)) | ((x > 0) & (y < 1))


def _cross_entropy_label_cancels(arrays, params, dtype):
    """Rows whose loss logsumexp(x) - x[label] is a difference of numbers larger than itself (|x[label]| > loss):
    optax forms both terms and subtracts, so the rounding of logsumexp, u*|logsumexp|, is not relative to the
    loss. With label smoothing the adapter goes through softmax_cross_entropy (log_softmax, max-shifted)."""
    labels = np.asarray(arrays["target"])
    x = np.moveaxis(arrays["logits"], 1, -1)  # (N, d1, ..., C): the rows of logits of shape (N, C, d1, ...)
    if labels.dtype.kind not in "iu" or params.get("label_smoothing", 0.0) != 0:
        return np.zeros(labels.shape[:1] + x.shape[1:-1], dtype=bool) if params.get("reduction", "mean") == "none" \
            else np.False_
    ignore_index = params.get("ignore_index")
    kept = labels != ignore_index if ignore_index is not None else np.ones(labels.shape, dtype=bool)
    picked = np.where(kept, labels, 0)[..., None]  # an ignored row is 0 in optax too (its where= mask)
    label_logits = np.take_along_axis(x, picked, axis=-1)[..., 0]
    loss = -np.take_along_axis(log_softmax.forward(x, axis=-1), picked, axis=-1)[..., 0]
    return per_output(kept & (np.abs(label_logits) > loss), params)


def _huber_inside_delta(arrays, params, dtype):
    """0 < |r| < delta: optax's gradient there is delta g + (q - delta) g, two terms larger than the result."""
    size = np.abs(np.asarray(arrays["prediction"]) - np.asarray(arrays["target"]))
    return (size > 0) & (size < params.get("delta", 1.0))


def _adagrad_sum_underflows(arrays, params, dtype):
    """An Adagrad case in which some coordinate with a nonzero (weight-decayed) gradient has an accumulated sum of
    squared gradients below the dtype's smallest normal (float64 reference, optax's conventions): XLA flushes it
    to 0 and optax's where(s > 0, ...) then drops that coordinate's update."""
    hyper = params.get("hyper", {})
    if params.get("optimizer") != "adagrad" or hyper.get("initial_accumulator_value", 0.0) != 0:
        return False
    stepped = np.zeros(np.shape(arrays["param"]), dtype=bool)
    for param, grad, state in reference_trajectory("adagrad", "optax", arrays, hyper):
        stepped |= (grad + hyper.get("weight_decay", 0.0) * param) != 0  # optax's decay is coupled
        if np.any(stepped & (state.sum < dtypes.get(dtype).tiny)):  # (float64's own sum may underflow to 0)
            return True
    return False


def _dropout_rate_one_with_gradient(arrays, params, dtype):
    return params.get("p") == 1.0 and params.get("training", True)


_FINDINGS = "docs/findings.md"

KNOWN_ISSUES = (
    KnownIssue("optax-huber-grad-cancellation", "huber", "vjp", _huber_inside_delta,
               "the VJP of optax.losses.huber_loss for 0 < |r| < delta adds delta g and (min(|r|, delta) - delta) g, "
               "which cancel: an absolute error of about u delta |g|, delta / |r| ulps of the spec's r g",
               f"{_FINDINGS}#optax-huber-grad-cancellation"),
    KnownIssue("optax-adagrad-zero-accumulator", "adagrad", "optimizer", _adagrad_sum_underflows,
               "optax.scale_by_rss scales by where(s > 0, rsqrt(s + eps), 0): a coordinate whose sum of squared "
               "gradients underflows (flushed to 0) gets no update (spec: eta g / sqrt(0 + eps))",
               f"{_FINDINGS}#optax-adagrad-zero-accumulator"),
    KnownIssue("jax-stax-dropout-p-one-grad-nan", "dropout", "dropout", _dropout_rate_one_with_gradient,
               "stax.Dropout at p = 1 (keep rate 0) computes where(keep, x / 0, 0): the output is 0, but the VJP "
               "multiplies the zero cotangent by 1/0, so the gradient is NaN (spec: 0; the kind of google/flax#2055)",
               f"{_FINDINGS}#jax-stax-dropout-p-one-grad-nan"),
    KnownIssue("jax-leaky-relu-grad-at-zero", "leaky_relu", "vjp", _leaky_relu_at_zero,
               "jax.nn.leaky_relu'(0) is 1 (its where(x >= 0, ...) is differentiated through the x branch); spec: "
               "the slope, as in PyTorch and TF, and as JAX's own relu'(0) = 0 (leaky_relu with slope 0)",
               f"{_FINDINGS}#jax-leaky-relu-grad-at-zero"),
    KnownIssue("jax-gelu-at-minus-infinity", "gelu", "forward", minus_infinity,
               "jax.nn.gelu(-inf) is NaN (0.5 * x * erfc(inf) = -inf * 0); spec: the limit 0",
               f"{_FINDINGS}#jax-gelu-at-minus-infinity"),
    KnownIssue("jax-gelu-at-minus-infinity", "gelu_tanh", "forward", minus_infinity,
               "jax.nn.gelu(-inf, approximate=True) is NaN (x * 0.5 * (1 + tanh(-inf)) = -inf * 0); spec: the limit 0",
               f"{_FINDINGS}#jax-gelu-at-minus-infinity"),
    KnownIssue("jax-silu-at-the-ends", "silu", "forward", minus_infinity,
               "jax.nn.silu(-inf) is NaN (x * sigmoid(x) = -inf * 0); spec: the limit -0",
               f"{_FINDINGS}#silu-at-the-ends"),
    KnownIssue("jax-silu-at-the-ends", "silu", "vjp", infinite,
               "the VJP of jax.nn.silu is NaN at +-inf (x * sigmoid'(x) = inf * 0); spec: the limits 1 and 0",
               f"{_FINDINGS}#silu-at-the-ends"),
    *(KnownIssue("jax-silu-at-the-ends", "silu", kind, sigmoid_underflows(opmath=False),
                 "silu and its VJP are 0 once sigmoid(x) falls below the smallest normal of the dtype (flushed "
                 "to zero, or exp(-x) overflowing in float16) while the exact value is still normal",
                 f"{_FINDINGS}#silu-at-the-ends") for kind in ("forward", "vjp")),
    KnownIssue("jax-silu-grad-overflow", "silu", "vjp", silu_grad_overflows,
               "the VJP of jax.nn.silu is NaN wherever g * x overflows (it multiplies that by sigmoid'(x) = 0); "
               "spec: g for x -> +inf, 0 for x -> -inf", f"{_FINDINGS}#jax-silu-grad-overflow"),
    KnownIssue("jax-gelu-grad-overflow", "gelu", "vjp", gelu_grad_overflows,
               "the VJP of jax.nn.gelu is NaN at +-inf, and wherever g * x / sqrt(pi) overflows (it multiplies "
               "that by exp(-x**2 / 2) = 0); spec: g for x -> +inf, 0 for x -> -inf",
               f"{_FINDINGS}#jax-gelu-grad-overflow"),
    KnownIssue("jax-gelu-tanh-grad-overflow", "gelu_tanh", "vjp", _cube_derivative_overflows,
               "the VJP of jax.nn.gelu(approximate=True) is NaN once 3 * x**2 overflows (|x| >= sqrt(max / 3)); "
               "spec: g for x -> +inf, 0 for x -> -inf", f"{_FINDINGS}#jax-gelu-grad-overflow"),
    KnownIssue("jax-softplus-grad-cancellation", "softplus", "vjp", _softplus_cancelling_branch,
               "the derivative of jax.nn.softplus is exp(x - logaddexp(x, 0)) (logaddexp's custom JVP), whose "
               "rounded exponent costs up to x ulps: float64 softplus'(33.28) = 1.0 (spec 1 - 3.6e-15, 16 ulps)",
               f"{_FINDINGS}#jax-softplus-grad-cancellation"),
    KnownIssue("jax-softplus-grad-cancellation", "binary_cross_entropy_with_logits", "vjp",
               _bce_logits_cancelling_branch,
               "optax.losses.sigmoid_binary_cross_entropy differentiates jax.nn.log_sigmoid = -softplus(-x), so its "
               "gradient sigmoid(x) - y inherits softplus's up-to-|x|-ulp error (8 ulps float32, 32 float64)",
               f"{_FINDINGS}#jax-softplus-grad-cancellation"),
    KnownIssue("optax-bce-logits-infinite", "binary_cross_entropy_with_logits", "forward",
               _bce_logits_infinite_agreeing,
               "optax.losses.sigmoid_binary_cross_entropy is NaN at logits +inf with target 1 and -inf with target 0 "
               "(0 * log_sigmoid(-inf)); spec: 0", f"{_FINDINGS}#optax-bce-logits-infinite"),
    KnownIssue("optax-cross-entropy-integer-labels-cancellation", "softmax_cross_entropy", "forward",
               _cross_entropy_label_cancels,
               "optax.losses.softmax_cross_entropy_with_integer_labels computes logsumexp(x) - x[label], which "
               "cancels: logits [1e8, 1e8] give 0 in float32 (spec: log 2), pytorch#11752's bug",
               f"{_FINDINGS}#optax-cross-entropy-integer-labels-cancellation"),
    *mean_overflow_issues("jax-mean-overflow",
                          "jnp.mean sums in the input dtype and then divides: the mean of the losses overflows to inf "
                          "when their sum exceeds the dtype's range although the mean is finite"),
)


def _read_as_zero(arrays, params, dtype):
    """Inputs XLA on CPU reads as 0 (denormals-are-zero, docs/findings.md#xla-flush-to-zero): subnormal in the
    format it computes in (float16 is computed in float32, where every float16 is normal)."""
    x = np.abs(arrays["x"])
    return (x != 0) & (x < dtypes.get("float32" if dtype == "float16" else dtype).tiny)


KNOWN_ISSUES += (
    KnownIssue("jax-leaky-relu-grad-at-zero", "leaky_relu", "vjp", _read_as_zero,
               "jax.nn.leaky_relu'(0) = 1 also at the subnormal inputs XLA's CPU reads as 0 (the exhaustive bfloat16 "
               "sweep: 1 at x = -9.2e-41, spec: the slope)", f"{_FINDINGS}#jax-leaky-relu-grad-at-zero"),
)
