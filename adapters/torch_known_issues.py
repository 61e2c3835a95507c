"""PyTorch's known issues: disagreements with the spec found by nnspec that are framework bugs, not conventions.

Each is written up in docs/findings.md with its minimal input and replay command. Only the inputs named by
``where`` are excused; everything else about the primitive is still checked. Verified with torch 2.13.0 (CPU).
"""

from __future__ import annotations

import numpy as np

from nnspec.adapters.base import KnownIssue
from nnspec.adapters.known_issue_rules import LOSSES, mean_overflows, reference_trajectory
from nnspec.conformance import dtypes

__all__ = ["KNOWN_ISSUES"]


def _per_output(mask: np.ndarray, params) -> np.ndarray:
    """Elementwise for reduction 'none'; a reduced loss is excused when any element is."""
    return mask if params.get("reduction", "mean") == "none" else np.any(mask)


def _gelu_infinite(arrays, params, dtype):
    return np.isinf(arrays["x"])


def _gelu_overflow(arrays, params, dtype):
    return arrays["x"] > dtypes.get(dtype).max / 2  # x * (1 + erf(x / sqrt 2)) = 2x overflows


def _gelu_tanh_grad_overflow(arrays, params, dtype):
    return np.abs(arrays["x"]) >= np.sqrt(dtypes.get(dtype).max)  # x * x overflows inside the derivative


def _bce_grad_float16_floor(arrays, params, dtype):
    p = arrays["probability"]
    return (dtype == "float16") & ((p == 0) | (p == 1))  # p (1 - p) = 0 meets a floor that is 0 in float16


def _centered_variance_within_rounding(arrays, params, dtype):
    """A centered RMSprop case (float16, bfloat16) in which v - mean**2 comes within rounding of 0 at some step of
    the float64 reference, so that rounding in the dtype can make it negative (then torch takes sqrt of it)."""
    hyper = params.get("hyper", {})
    if params.get("optimizer") != "rmsprop" or not hyper.get("centered") or dtype not in ("float16", "bfloat16"):
        return False
    u = dtypes.get(dtype).unit_roundoff
    return any(np.any(state.square_avg - state.grad_avg**2 <= 8 * u * state.square_avg)
               for _, _, state in reference_trajectory("rmsprop", "pytorch", arrays, hyper))


def _smoothing_sum_overflows(arrays, params, dtype):
    """Label smoothing's sum of -log softmax over the classes (and, for a reduced loss, over the rows), which
    torch forms before scaling it by eps / K, exceeds the dtype's range (the loss itself may be finite)."""
    if not params.get("label_smoothing"):
        return np.asarray(False)
    from nnspec.reference.activations import log_softmax

    with np.errstate(all="ignore"):
        rows = np.sum(-log_softmax.forward(np.asarray(arrays["logits"], dtype=np.float64), axis=-1), axis=-1)
    if params.get("reduction", "mean") == "none":
        return rows > dtypes.get(dtype).max
    return np.asarray(np.sum(rows) > dtypes.get(dtype).max)  # a reduced loss sums the rows' terms first


def _bce_logits_infinite(arrays, params, dtype):
    return _per_output(np.isinf(arrays["logits"]), params)


KNOWN_ISSUES = tuple(
    KnownIssue("torch-mean-overflow", loss, "forward", mean_overflows(loss),
               "reduction='mean' overflows to inf when the sum of the losses exceeds the dtype's range, although the "
               "mean is finite (the kind of pytorch/pytorch#91597)", "docs/findings.md#torch-mean-overflow")
    for loss in LOSSES
) + (
    KnownIssue("torch-gelu-at-infinity", "gelu", "forward", _gelu_infinite,
               "gelu(-inf) is NaN (spec: the limit 0), and float32 gelu(+inf) on CPU is NaN (spec: +inf)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-gelu-overflow", "gelu", "forward", _gelu_overflow,
               "float32 gelu on CPU overflows to +inf for x > max/2 (it forms x * (1 + erf(.)) = 2x first); "
               "spec: gelu(x) = x there", "docs/findings.md#torch-gelu-overflow"),
    KnownIssue("torch-gelu-at-infinity", "gelu_tanh", "forward", _gelu_infinite,
               "gelu(-inf, approximate='tanh') is NaN (spec: the limit 0)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-gelu-at-infinity", "gelu", "vjp", _gelu_infinite,
               "the GELU derivative at +-inf is NaN (spec: the limits 1 and 0)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-gelu-at-infinity", "gelu_tanh", "vjp", _gelu_infinite,
               "the tanh-GELU derivative at +-inf is NaN (spec: the limits 1 and 0)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-gelu-tanh-grad-overflow", "gelu_tanh", "vjp", _gelu_tanh_grad_overflow,
               "the tanh-GELU derivative is NaN once x*x overflows (|x| >= sqrt(max)); spec: 1 for x -> +inf, "
               "0 for x -> -inf", "docs/findings.md#torch-gelu-tanh-grad-overflow"),
    KnownIssue("torch-bce-grad-float16-floor", "binary_cross_entropy", "vjp", _bce_grad_float16_floor,
               "in float16 the BCE gradient is NaN at p = 0 and p = 1: the floor EPSILON = 1e-12 of "
               "max(p (1 - p), EPSILON) is converted to float16, where it is 0, so the gradient is 0/0 (spec: "
               "(p - y) / max(p (1 - p), 1e-12), e.g. 0 at p = y); bfloat16 and float32 hold 1e-12",
               "docs/findings.md#torch-bce-grad-float16-floor"),
    KnownIssue("torch-centered-rmsprop-negative-variance", "rmsprop", "optimizer",
               _centered_variance_within_rounding,
               "centered RMSprop takes sqrt(square_avg - grad_avg**2) unclamped: once a steady gradient makes the "
               "difference smaller than rounding (bfloat16 after 9 steps at alpha 0.5), it turns negative and the "
               "parameter NaN (spec: the square root of the exact, non-negative variance)",
               "docs/findings.md#torch-centered-rmsprop-negative-variance"),
    KnownIssue("torch-label-smoothing-sum-overflow", "softmax_cross_entropy", "forward", _smoothing_sum_overflows,
               "with label smoothing, cross_entropy sums -log_softmax over the classes before multiplying by "
               "eps / K, so in float16 the sum overflows to inf while the loss is finite (spec: 1600 for logits "
               "[1e4, -1e4 x 4], eps 0.1)", "docs/findings.md#torch-label-smoothing-sum-overflow"),
    KnownIssue("torch-bce-logits-infinite", "binary_cross_entropy_with_logits", "forward", _bce_logits_infinite,
               "binary_cross_entropy_with_logits is NaN at logits +inf (target 1: spec 0; target 0 or soft: +inf) "
               "and at -inf with target 1 (spec +inf)",
               "docs/findings.md#torch-bce-logits-infinite (pytorch/pytorch#49844)"),
)
