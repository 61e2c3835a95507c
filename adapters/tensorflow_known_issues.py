"""TensorFlow / Keras known issues: disagreements with the spec found by nnspec that are framework bugs, not
conventions.

Each is written up in docs/findings.md (section "TensorFlow / Keras") with its minimal input and replay command.
Only the inputs named by ``where`` are excused; everything else about the primitive is still checked. Verified
with tensorflow-cpu 2.21.0 and keras 3.15.1 (CPU).
"""

from __future__ import annotations

import numpy as np

from nnspec.adapters.base import KnownIssue
from nnspec.adapters.known_issue_rules import LOSSES, gelu_grad_overflows, mean_overflows
from nnspec.conformance import dtypes
from nnspec.reference.optimizers import profiles

__all__ = ["KNOWN_ISSUES"]



def _per_output(mask: np.ndarray, params) -> np.ndarray:
    """Elementwise for reduction 'none'; a reduced loss is excused when any element is."""
    return mask if params.get("reduction", "mean") == "none" else np.any(mask)


def _in_float64(arrays, params, dtype):
    return np.full(np.shape(arrays["x"]), dtype == "float64")


def _leaky_slope_rounded(arrays, params, dtype, *, at_zero: bool):
    slope = params.get("negative_slope", 0.01)
    rounded = dtype == "float64" and float(np.float32(slope)) != slope
    x = arrays["x"]
    return rounded & ((x <= 0) if at_zero else (x < 0))


def _minus_infinity(arrays, params, dtype):
    return arrays["x"] == -np.inf


def _infinite(arrays, params, dtype):
    return np.isinf(arrays["x"])


def _gelu_tanh_grad_overflow(arrays, params, dtype):
    return np.abs(arrays["x"]) >= np.sqrt(dtypes.get(dtype).max)  # x * x overflows inside the derivative


def _bce_logits_infinite(arrays, params, dtype):
    x, y = arrays["logits"], arrays["target"]
    return _per_output(np.isinf(x) & ((x > 0) | (y == 0)), params)


#: Keras optimizers whose update casts a Python-float hyperparameter with ops.cast (tf.cast through float32), and
#: the hyperparameters concerned: weight decay in every optimizer (base_optimizer._apply_weight_decay).
_CAST_IN_UPDATE = {"sgd": ("momentum",), "adagrad": ("initial_accumulator_value",), "adam": ("betas",),
                   "adamw": ("betas",), "adamax": ("betas",), "nadam": ("betas",)}


def _float64_hyper_cast(optimizer: str, hyper, dtype: str) -> bool:
    """Whether Keras rounds one of this case's hyperparameters to float32 although the dtype is float64."""
    used = [name for name in (*_CAST_IN_UPDATE.get(optimizer, ()), "weight_decay") if hyper.get(name)]
    return dtype == "float64" and bool(used)


def _optimizer_cast(optimizer: str):
    return lambda arrays, params, dtype: _float64_hyper_cast(optimizer, params["hyper"], dtype)


def _training_cast(arrays, params, dtype):
    return _float64_hyper_cast(params.get("optimizer", "sgd"), params["hyper"], dtype)


def _network_gelu_float64(arrays, params, dtype):
    return dtype == "float64" and any(act in ("gelu", "gelu_tanh") for act in params["activations"])


def _baseline_set(arrays, params, dtype):
    return params["rules"].get("baseline") is not None


_FINDINGS = "docs/findings.md"
KNOWN_ISSUES = (
    KnownIssue("tf-gelu-float32-constants", "gelu", "forward", _in_float64,
               "tf.nn.gelu makes its constant 1/sqrt(2) with math_ops.cast(python float, float64), which goes "
               "through float32: float64 gelu is off by ~1e-9 relative (spec: float64 rounding)",
               f"{_FINDINGS}#tf-gelu-float32-constants"),
    KnownIssue("tf-gelu-float32-constants", "gelu", "vjp", _in_float64,
               "the float64 GELU derivative inherits tf.nn.gelu's float32-rounded 1/sqrt(2)",
               f"{_FINDINGS}#tf-gelu-float32-constants"),
    KnownIssue("tf-gelu-float32-constants", "gelu_tanh", "forward", _in_float64,
               "tf.nn.gelu(approximate=True) rounds its coefficient 0.044715 to float32 in float64",
               f"{_FINDINGS}#tf-gelu-float32-constants"),
    KnownIssue("tf-gelu-float32-constants", "gelu_tanh", "vjp", _in_float64,
               "the float64 tanh-GELU derivative inherits the float32-rounded coefficient 0.044715",
               f"{_FINDINGS}#tf-gelu-float32-constants"),
    KnownIssue("tf-gelu-at-infinity", "gelu", "forward", _minus_infinity,
               "gelu(-inf) is NaN (spec: the limit 0)", f"{_FINDINGS}#tf-gelu-at-infinity"),
    KnownIssue("tf-gelu-at-infinity", "gelu_tanh", "forward", _minus_infinity,
               "gelu(-inf, approximate=True) is NaN (spec: the limit 0)", f"{_FINDINGS}#tf-gelu-at-infinity"),
    KnownIssue("tf-gelu-at-infinity", "gelu", "vjp", _infinite,
               "the GELU derivative at +-inf is NaN (spec: the limits 1 and 0)", f"{_FINDINGS}#tf-gelu-at-infinity"),
    KnownIssue("tf-gelu-grad-overflow", "gelu", "vjp", gelu_grad_overflows,
               "the GELU derivative is NaN once grad_output * x / sqrt(pi) overflows (an inf times exp(-x^2/2) "
               "= 0); spec: grad_output for x -> +inf, 0 for x -> -inf", f"{_FINDINGS}#tf-gelu-grad-overflow"),
    KnownIssue("tf-gelu-grad-overflow", "gelu_tanh", "vjp", _gelu_tanh_grad_overflow,
               "the tanh-GELU derivative is NaN once x*x overflows (|x| >= sqrt(max)); spec: 1 for x -> +inf, "
               "0 for x -> -inf", f"{_FINDINGS}#tf-gelu-grad-overflow"),
    KnownIssue("tf-leaky-relu-alpha-float32", "leaky_relu", "forward",
               lambda a, p, d: _leaky_slope_rounded(a, p, d, at_zero=False),
               "the LeakyRelu op holds alpha as a C++ float: in float64 the slope is rounded to float32 "
               "(spec: negative_slope * x rounded once in float64)", f"{_FINDINGS}#tf-leaky-relu-alpha-float32"),
    KnownIssue("tf-leaky-relu-alpha-float32", "leaky_relu", "vjp",
               lambda a, p, d: _leaky_slope_rounded(a, p, d, at_zero=True),
               "LeakyReluGrad multiplies by the float32-rounded alpha also in float64",
               f"{_FINDINGS}#tf-leaky-relu-alpha-float32"),
    KnownIssue("tf-sigmoid-cross-entropy-infinite-logits", "binary_cross_entropy_with_logits", "forward",
               _bce_logits_infinite,
               "tf.nn.sigmoid_cross_entropy_with_logits is NaN at logits +inf (any target: inf - inf or inf * 0) "
               "and at -inf with target 0 (-inf * 0); spec: 0 where the target agrees, +inf otherwise",
               f"{_FINDINGS}#tf-sigmoid-cross-entropy-infinite-logits"),
    # Checks that take a whole case (excused by conformance.session when `where` holds for the case).
    KnownIssue("tf-gelu-float32-constants", "network", "network", _network_gelu_float64,
               "a float64 network with a GELU layer inherits tf.nn.gelu's float32-rounded constants",
               f"{_FINDINGS}#tf-gelu-float32-constants"),
    KnownIssue("tf-gelu-float32-constants", "training_step", "training", _network_gelu_float64,
               "a float64 training step through a GELU layer inherits tf.nn.gelu's float32-rounded constants",
               f"{_FINDINGS}#tf-gelu-float32-constants"),
    *(KnownIssue("keras-float64-hyperparameters-in-float32", name, "optimizer", _optimizer_cast(name),
                 "Keras casts Python-float hyperparameters with ops.cast = tf.cast, which converts them to float32 "
                 "first: in float64 the update uses them rounded to float32",
                 f"{_FINDINGS}#keras-float64-hyperparameters-in-float32") for name in profiles.OPTIMIZERS),
    KnownIssue("keras-float64-hyperparameters-in-float32", "training_step", "training", _training_cast,
               "the float64 training step's optimizer uses float32-rounded hyperparameters (weight decay, momentum)",
               f"{_FINDINGS}#keras-float64-hyperparameters-in-float32"),
    KnownIssue("keras-early-stopping-baseline", "early_stopping", "early_stopping", _baseline_set,
               "Keras's EarlyStopping returns before its stop check on every epoch that improves on the best value, "
               "so with a baseline that is never beaten it never stops (its own docstring says it stops after "
               "patience epochs); spec: the stop check runs on every counted epoch",
               f"{_FINDINGS}#keras-early-stopping-baseline"),
    *(KnownIssue("keras-mean-overflow", loss, "forward", mean_overflows(loss),
                 "the 'sum_over_batch_size' reduction sums the losses in the input dtype and then divides: the mean "
                 "overflows to inf when the sum exceeds the dtype's range although the mean is finite",
                 f"{_FINDINGS}#torch-mean-overflow") for loss in LOSSES),
)
