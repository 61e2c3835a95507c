"""Predicates shared by several backends' known-issue lists (``KnownIssue.where`` functions)."""

from __future__ import annotations

import inspect

import numpy as np

from nnspec.adapters.base import KnownIssue
from nnspec.reference import catalogue, dtypes

__all__ = ["LOSSES", "per_output", "minus_infinity", "infinite", "mean_overflows", "mean_overflow_issues",
           "gelu_grad_overflows", "gelu_tanh_grad_overflows", "silu_grad_overflows", "sigmoid_underflows",
           "reference_trajectory", "centered_variance_within_rounding"]

LOSSES = ("mean_squared_error", "binary_cross_entropy", "binary_cross_entropy_with_logits",
          "softmax_cross_entropy", "softmax_cross_entropy_probs", "nll_loss")


def per_output(mask: np.ndarray, params) -> np.ndarray:
    """Elementwise (or per example) for reduction 'none'; a reduced loss is excused when any element is."""
    return mask if params.get("reduction", "mean") == "none" else np.any(mask)


def minus_infinity(arrays, params, dtype):
    """``where`` for an activation that is wrong at x = -inf only."""
    return arrays["x"] == -np.inf


def infinite(arrays, params, dtype):
    """``where`` for an activation (or derivative) that is wrong at x = +-inf."""
    return np.isinf(arrays["x"])


def mean_overflows(primitive: str):
    """``where`` for a loss whose reduction='mean' is computed as sum / n in the input dtype: true when the exact
    mean is finite but the sum of the losses exceeds the dtype's range (the kind of pytorch/pytorch#91597)."""

    def where(arrays, params, dtype):
        if params.get("reduction", "mean") != "mean":
            return np.asarray(False)
        forward = catalogue.get(primitive).module.forward
        options = {k: v for k, v in params.items() if k in ("weight", "ignore_index")
                   and k in inspect.signature(forward).parameters}  # a class loss's weights and ignored rows
        losses = forward(**arrays, reduction="none", **options)
        total = np.sum(np.abs(np.where(np.isfinite(losses), losses, 0.0)))
        return np.asarray(total > dtypes.get(dtype).max)

    return where


def mean_overflow_issues(name: str, description: str, where=mean_overflows) -> tuple[KnownIssue, ...]:
    """The known issue ``name`` for every loss's forward: its reduction='mean' overflows where ``where(loss)``
    says (default ``mean_overflows``); all frameworks cite the one write-up, docs/findings.md#torch-mean-overflow."""
    return tuple(KnownIssue(name, loss, "forward", where(loss), description, "docs/findings.md#torch-mean-overflow")
                 for loss in LOSSES)


#: jax.nn.gelu's and tf.nn.gelu's exact-GELU gradient multiply g * x by exp(-x**2 / 2) (= 0 for large |x|) after
#: scaling it by 1/sqrt(pi) (0.5 * 2/sqrt(pi)); measured on both, float32 x = max/2: finite for |g x| up to
#: 1.7724537 max, NaN from 1.7724539 max, i.e. from sqrt(pi) * max. The margin 4u covers the rounding of the
#: two or three products before the overflow.
GELU_GRAD_OVERFLOW_AT = float(np.sqrt(np.pi))


def _grad_times_x_overflows(arrays, dtype, at: float):
    """x = +-inf, or |g x| >= at * max (1 - 4u): an intermediate g x (times a constant) that overflows."""
    fmt = dtypes.get(dtype)
    x, g = np.asarray(arrays["x"], dtype=np.float64), np.asarray(arrays["grad_output"], dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # g x itself overflows float64 there
        overflow = np.abs(g) >= at * (1 - 4 * fmt.unit_roundoff) * (fmt.max / np.abs(x))
    return np.isinf(x) | overflow


def gelu_grad_overflows(arrays, params, dtype):
    """``where`` for the exact-GELU VJP that is NaN at x = +-inf and wherever its intermediate g x / sqrt(pi)
    overflows (spec: g for x -> +inf, 0 for x -> -inf). Needs ``grad_output`` (vjp checks pass it)."""
    return _grad_times_x_overflows(arrays, dtype, GELU_GRAD_OVERFLOW_AT)


def silu_grad_overflows(arrays, params, dtype):
    """``where`` for a SiLU VJP that multiplies g x by sigmoid'(x) (= 0 for large |x|): NaN at x = +-inf and
    wherever g x overflows (jax.nn.silu, measured: finite at |g x| = max, NaN just above; spec: g for
    x -> +inf, 0 for x -> -inf). Needs ``grad_output`` (vjp checks pass it)."""
    return _grad_times_x_overflows(arrays, dtype, 1.0)


def gelu_tanh_grad_overflows(arrays, params, dtype):
    """``where`` for a tanh-GELU derivative that is NaN once x * x overflows: |x| >= sqrt(max)."""
    return np.abs(arrays["x"]) >= np.sqrt(dtypes.get(dtype).max)


def sigmoid_underflows(opmath: bool):
    """``where`` for x * sigmoid(x) (silu and its derivative) computed with a sigmoid that underflows: below
    x = log(smallest normal) of the type it is computed in (float32 for the 16-bit formats when ``opmath``)
    sigmoid(x) is flushed to zero or its exp(-x) overflows, so the result is 0 while |x| lifts the exact value
    above the underflow floor (docs/findings.md#silu-at-the-ends)."""

    def where(arrays, params, dtype):
        computed_in = "float32" if opmath and dtype in ("float16", "bfloat16") else dtype
        return arrays["x"] < np.log(dtypes.get(computed_in).tiny)

    return where


def reference_trajectory(optimizer: str, profile: str, arrays, hyper):
    """Replay an optimizer case (``param``, ``grad_1``, ``grad_2``, ...) with the float64 reference in a
    framework profile's conventions: yields (param before the step, grad, state after it) per step."""
    import importlib

    from nnspec.reference.optimizers import profiles

    module = importlib.import_module(f"nnspec.reference.optimizers.{optimizer}")
    keywords = {**hyper, **profiles.conventions(profile, optimizer)}
    if "betas" in keywords:
        keywords["betas"] = tuple(keywords["betas"])
    param = np.asarray(arrays["param"], dtype=np.float64)
    state = module.init(param, **keywords)
    for index in range(1, 1 + sum(name.startswith("grad_") for name in arrays)):
        grad = np.asarray(arrays[f"grad_{index}"], dtype=np.float64)
        before = param
        param, state = module.step(param, grad, state, **keywords)
        yield before, grad, state


def centered_variance_within_rounding(arrays, params, dtype):
    """A centered RMSprop case (float16, bfloat16) in which v - mean**2 comes within rounding of 0 at some step of
    the float64 reference, so that rounding in the dtype can make it negative: then an unclamped sqrt of it is NaN
    (torch; the reference's own formula, run in float16 by the reference backend)."""
    hyper = params.get("hyper", {})
    if params.get("optimizer") != "rmsprop" or not hyper.get("centered") or dtype not in ("float16", "bfloat16"):
        return False
    u = dtypes.get(dtype).unit_roundoff
    return any(np.any(state.square_avg - state.grad_avg**2 <= 8 * u * state.square_avg)
               for _, _, state in reference_trajectory("rmsprop", "pytorch", arrays, hyper))
