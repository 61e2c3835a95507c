"""PyTorch's known issues: disagreements with the spec found by nnspec that are framework bugs, not conventions.

Each is written up in docs/findings.md with its minimal input and replay command. Only the inputs named by
``where`` are excused; everything else about the primitive is still checked. Verified with torch 2.13.0 (CPU,
AVX-512 and, through ``ONEDNN_MAX_CPU_ISA=AVX2``, AVX2); tests/findings/test_torch_findings.py re-checks each.
The predicates several frameworks share are in known_issue_rules.py.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from nnspec.adapters.base import KnownIssue
from nnspec.adapters.known_issue_rules import (
    centered_variance_within_rounding,
    gelu_tanh_grad_overflows,
    infinite,
    mean_overflow_issues,
    mean_overflows,
    minus_infinity,
    per_output,
    sigmoid_underflows,
)
from nnspec.reference import dtypes

__all__ = ["KNOWN_ISSUES", "onednn_avx512_gelu"]


@functools.cache
def onednn_avx512_gelu() -> bool:
    """Whether torch's exact GELU on CPU runs oneDNN's AVX-512 kernel (``jit:avx512_core``) for float32 and bfloat16.

    ATen sends a contiguous float32 (or, where oneDNN supports it, bfloat16) tensor with more than one element to
    oneDNN's ``eltwise_gelu_erf`` (``use_mkldnn`` in aten/src/ATen/native/Activation.cpp); oneDNN's AVX-512 kernel
    computes ``src * (1 + erf) * 0.5`` and so overflows for x > max/2 and is NaN at +inf, its AVX2 kernel does not
    (measured on one AVX-512 CPU, also with ``ONEDNN_MAX_CPU_ISA=AVX2``). The ISA is ATen's detected capability;
    ``ONEDNN_MAX_CPU_ISA`` below AVX-512 turns the kernel off.
    """
    import torch

    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return False
    if not os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX512").upper().startswith(("AVX512", "AVX10", "ALL")):
        return False
    return torch.backends.cpu.get_cpu_capability() == "AVX512"


def _cpu_vector_call(arrays, params, dtype, dtypes_: tuple[str, ...]) -> bool:
    """The call takes a vectorised CPU kernel: on the CPU, one of ``dtypes_``, two elements or more
    (``params["device"]`` is the run's device, given by the suite)."""
    return str(params.get("device", "cpu")) == "cpu" and dtype in dtypes_ and np.size(arrays["x"]) >= 2


def _onednn_gelu_path(arrays, params, dtype) -> bool:
    """The exact-GELU call goes to oneDNN's AVX-512 kernel: float32 or bfloat16 on a vectorised CPU call."""
    return _cpu_vector_call(arrays, params, dtype, ("float32", "bfloat16")) and onednn_avx512_gelu()


def _gelu_infinite(arrays, params, dtype):
    """-inf is NaN on every path (-inf * 0); +inf only on oneDNN's AVX-512 kernel."""
    x = np.asarray(arrays["x"])
    return (x == -np.inf) | ((x == np.inf) & _onednn_gelu_path(arrays, params, dtype))


def _gelu_tanh_minus_infinity(arrays, params, dtype):
    return np.asarray(arrays["x"]) == -np.inf  # -inf * (1 + tanh(-inf)) = -inf * 0; +inf is right


def _gelu_overflow(arrays, params, dtype):
    """oneDNN's AVX-512 kernel forms x * (1 + erf(x / sqrt 2)) = 2x in float32 before halving: inf for
    x > float32 max / 2 (also for bfloat16 inputs, which it computes in float32)."""
    x = np.asarray(arrays["x"], dtype=np.float64)
    return (x > dtypes.get("float32").max / 2) & _onednn_gelu_path(arrays, params, dtype)


#: The one float32 input of 2**32 at which the sweep (g = 1) found the vectorised exact-GELU gradient over its
#: budget (error/budget 1.01; findings: torch-gelu-grad-vectorised-erf).
_GELU_GRAD_ERF_INPUT = 0.043225884437561035


def _gelu_grad_vectorised_erf(arrays, params, dtype):
    """ATen's vectorised GELU backward (float32 on the CPU, two elements or more) takes erf from
    ``Vectorized<float>::erf``, the Abramowitz-Stegun 7.1.26 formula (absolute error 1.3e-7 here, 3.1e-7 once
    evaluated in float32): 5.4 ulps off at exactly one input, ``_GELU_GRAD_ERF_INPUT``."""
    x = np.asarray(arrays["x"], dtype=np.float64)
    return (x == _GELU_GRAD_ERF_INPUT) & _cpu_vector_call(arrays, params, dtype, ("float32",))


def _bce_grad_float16_floor(arrays, params, dtype):
    p = arrays["probability"]
    return (dtype == "float16") & ((p == 0) | (p == 1))  # p (1 - p) = 0 meets a floor that is 0 in float16


def _smoothing_sum_overflows(arrays, params, dtype):
    """Label smoothing's sum of -log softmax over the classes (and, for a reduced loss, over the rows), which
    torch forms before scaling it by eps / K, exceeds the dtype's range (the loss itself may be finite)."""
    if not params.get("label_smoothing"):
        return np.asarray(False)
    from nnspec.reference.activations import log_softmax

    logits = np.asarray(arrays["logits"], dtype=np.float64)  # (N, C, d1, ...): classes on axis 1
    weight = np.ones(logits.shape[1]) if params.get("weight") is None else np.asarray(params["weight"])
    weight = weight.reshape((-1,) + (1,) * (logits.ndim - 2))
    with np.errstate(all="ignore"):
        rows = np.sum(-weight * log_softmax.forward(logits, axis=1), axis=1)  # torch's sum of w_c (-log p_c)
    if params.get("ignore_index") is not None:
        rows = np.where(np.asarray(arrays["target"]) == params["ignore_index"], 0.0, rows)  # masked by torch
    if params.get("reduction", "mean") == "none":
        return rows > dtypes.get(dtype).max
    return np.asarray(np.sum(rows) > dtypes.get(dtype).max)  # a reduced loss sums the rows' terms first


def _bce_logits_infinite(arrays, params, dtype):
    """NaN at -inf for every target and at +inf with target 1; +inf with target < 1 gives the right +inf."""
    x, y = np.asarray(arrays["logits"]), np.asarray(arrays["target"])
    return per_output((x == -np.inf) | ((x == np.inf) & (y == 1)), params)


#: Losses whose float16 mean torch accumulates in float16 on CPU (nll_loss, the probabilities form of
#: cross_entropy): their float16 sum overflows at 65504. MSE and both BCEs accumulate in float32 there.
_HALF_ACCUMULATING = ("softmax_cross_entropy", "softmax_cross_entropy_probs", "nll_loss")


def _mean_overflows(loss: str):
    """``mean_overflows`` where torch's accumulation type overflows: the dtype's range, except that float16
    MSE and BCE sum in float32 (pytorch/pytorch#91597 fixed), so only the cross-entropy family overflows."""
    where = mean_overflows(loss)

    def torch_where(arrays, params, dtype):
        if dtype == "float16" and loss not in _HALF_ACCUMULATING:
            return np.asarray(False)
        return where(arrays, params, dtype)

    return torch_where


KNOWN_ISSUES = mean_overflow_issues(
    "torch-mean-overflow",
    "reduction='mean' overflows to inf when the sum of the losses exceeds the range of the type torch sums in "
    "(float32 for float32 and bfloat16; float16 itself for float16 nll_loss/cross_entropy), although the mean is "
    "finite", _mean_overflows) + (
    KnownIssue("torch-gelu-at-infinity", "gelu", "forward", _gelu_infinite,
               "gelu(-inf) is NaN (spec: the limit 0); gelu(+inf) is NaN (spec: +inf) only in oneDNN's AVX-512 "
               "kernel (float32/bfloat16, >= 2 elements, AVX-512 CPU)",
               "docs/findings.md#torch-gelu-at-infinity (pytorch/pytorch#185770)"),
    KnownIssue("torch-gelu-overflow", "gelu", "forward", _gelu_overflow,
               "oneDNN's AVX-512 GELU kernel (float32/bfloat16, >= 2 elements, AVX-512 CPU) overflows to +inf for "
               "x > float32 max / 2: it forms x * (1 + erf(.)) = 2x before halving; spec: gelu(x) = x there",
               "docs/findings.md#torch-gelu-overflow"),
    KnownIssue("torch-gelu-at-infinity", "gelu_tanh", "forward", _gelu_tanh_minus_infinity,
               "gelu(-inf, approximate='tanh') is NaN (spec: the limit 0)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-gelu-at-infinity", "gelu", "vjp", infinite,
               "the GELU derivative at +-inf is NaN (spec: the limits 1 and 0)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-gelu-grad-vectorised-erf", "gelu", "vjp", _gelu_grad_vectorised_erf,
               "float32 GELU's gradient on the CPU (two elements or more) evaluates erf by the Abramowitz-Stegun "
               "approximation: 5.4 ulps off at x = 0.043225884 (0.53446811 for 0.53446779), the one input of 2**32 "
               "over the budget", "docs/findings.md#torch-gelu-grad-vectorised-erf"),
    KnownIssue("torch-gelu-at-infinity", "gelu_tanh", "vjp", infinite,
               "the tanh-GELU derivative at +-inf is NaN (spec: the limits 1 and 0)",
               "docs/findings.md#torch-gelu-at-infinity"),
    KnownIssue("torch-silu-at-the-ends", "silu", "forward", minus_infinity,
               "F.silu(-inf) is NaN (x / (1 + exp(-x)) = -inf / inf); spec: the limit -0",
               "docs/findings.md#silu-at-the-ends"),
    KnownIssue("torch-silu-at-the-ends", "silu", "vjp", infinite,
               "the silu derivative at +-inf is NaN (x * (1 - sigmoid) = inf * 0); spec: the limits 1 and 0",
               "docs/findings.md#silu-at-the-ends"),
    *(KnownIssue("torch-silu-at-the-ends", "silu", kind, sigmoid_underflows(opmath=True),
                 "silu and its derivative are 0 once exp(-x) overflows (x < -88.72 in float32, bfloat16 and "
                 "float16, -709.78 in float64) while the exact value is still normal",
                 "docs/findings.md#silu-at-the-ends") for kind in ("forward", "vjp")),
    KnownIssue("torch-gelu-tanh-grad-overflow", "gelu_tanh", "vjp", gelu_tanh_grad_overflows,
               "the tanh-GELU derivative is NaN once x*x overflows (|x| >= sqrt(max)); spec: 1 for x -> +inf, "
               "0 for x -> -inf", "docs/findings.md#torch-gelu-tanh-grad-overflow"),
    KnownIssue("torch-bce-grad-float16-floor", "binary_cross_entropy", "vjp", _bce_grad_float16_floor,
               "in float16 the BCE gradient is NaN at p = 0 and p = 1: the floor EPSILON = 1e-12 of "
               "max(p (1 - p), EPSILON) is converted to float16, where it is 0, so the gradient is 0/0 (spec: "
               "(p - y) / max(p (1 - p), 1e-12), e.g. 0 at p = y); bfloat16 and float32 hold 1e-12",
               "docs/findings.md#torch-bce-grad-float16-floor"),
    KnownIssue("torch-centered-rmsprop-negative-variance", "rmsprop", "optimizer",
               centered_variance_within_rounding,
               "centered RMSprop takes sqrt(square_avg - grad_avg**2) unclamped: once a steady gradient makes the "
               "difference smaller than rounding (bfloat16 after 9 steps at alpha 0.5), it turns negative and the "
               "parameter NaN (spec: the square root of the exact, non-negative variance)",
               "docs/findings.md#torch-centered-rmsprop-negative-variance"),
    KnownIssue("torch-label-smoothing-sum-overflow", "softmax_cross_entropy", "forward", _smoothing_sum_overflows,
               "with label smoothing, cross_entropy sums -log_softmax over the classes before multiplying by "
               "eps / K, so in float16 the sum overflows to inf while the loss is finite (spec: 1600 for logits "
               "[1e4, -1e4 x 4], eps 0.1)", "docs/findings.md#torch-label-smoothing-sum-overflow"),
    KnownIssue("torch-bce-logits-infinite", "binary_cross_entropy_with_logits", "forward", _bce_logits_infinite,
               "binary_cross_entropy_with_logits is NaN at logit -inf for every target (spec: 0 for target 0, "
               "+inf otherwise) and at +inf with target 1 (spec 0)",
               "docs/findings.md#torch-bce-logits-infinite (pytorch/pytorch#49844, #102894, #135359)"),
)


def _nan_probability(arrays, params, dtype):
    return per_output(np.isnan(arrays["probability"]) | np.isnan(arrays["target"]), params)


KNOWN_ISSUES += tuple(
    KnownIssue("torch-bce-rejects-nan", "binary_cross_entropy", kind, _nan_probability,
               "binary_cross_entropy raises RuntimeError('all elements of input [target] should be between 0 and 1') "
               "for a NaN probability or target: its range checks fail for NaN; spec: NaN propagates to the loss "
               "and gradient",
               "docs/findings.md#torch-bce-rejects-nan")
    for kind in ("forward", "vjp")
)
