"""Bounds of the KL divergence (reference/losses/kl_divergence.py), and the strategy of its inputs.

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.errormodel import LIBM_ULPS, UNDERFLOW_FLOOR, flushed_products
from nnspec.conformance.losses import _reductions
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dtypes
from nnspec.reference.losses import kl_divergence


def _keywords(arrays: Mapping[str, np.ndarray], params: Mapping[str, object]) -> dict[str, object]:
    keys = ("log_target", "clip_probability")
    return {**{k: arrays[k] for k in ("log_prediction", "prediction", "target") if k in arrays},
            **{k: params[k] for k in keys if params.get(k) is not None}}


def _logs(arrays: Mapping[str, np.ndarray], params: Mapping[str, object]):
    """p, |log p|, |log q| at the (clipped) inputs, as the reference takes them."""
    c = params.get("clip_probability")
    target = arrays["target"]
    if c is not None:
        target = np.clip(target, c, 1.0)
    with np.errstate(divide="ignore"):
        if params.get("log_target"):
            p, log_p = np.exp(target), target
        else:
            p, log_p = target, np.log(target)
        if "prediction" in arrays:
            q = arrays["prediction"] if c is None else np.clip(arrays["prediction"], c, 1.0)
            log_q = np.log(q)
        else:
            log_q = arrays["log_prediction"]
    finite = lambda v: np.where(np.isfinite(v), np.abs(v), 0.0)  # noqa: E731
    return p, finite(log_p), finite(log_q)


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """p (log p - log q) in any of its forms (PyTorch's xlogy(p, p) - p log q, optax's p (log p - log q), Keras's
    p log(p / q)): log p and log q carry LIBM_ULPS + 1 u of themselves (the log, and q's or the division's
    rounding, one u absolute); their difference cancels where p ~ q, so these are absolute errors times p; the
    subtraction and the product add 2 u of the loss. With log targets, exp(t) carries LIBM_ULPS u of p."""
    u = fmt.unit_roundoff
    values = kl_divergence.forward(reduction="none", **_keywords(arrays, params))
    p, log_p, log_q = _logs(arrays, params)
    element = u * p * ((LIBM_ULPS + 2) * (log_p + log_q) + 2)
    finite_values = np.where(np.isfinite(values), np.abs(values), 0.0)
    element = element + (2 + (LIBM_ULPS if params.get("log_target") else 0)) * u * finite_values
    if params.get("log_target"):  # exp(t) may underflow to a subnormal or 0: an absolute error up to tiny
        element = element + UNDERFLOW_FLOOR * fmt.tiny * (1 + log_p + log_q)
    return _reductions.reduce_loss(values, element, params, u)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """-p g / n (log prediction; exp(t) adds LIBM_ULPS u for log targets) or -p / q g / n (probabilities; autodiff
    of log(p / q) takes a few more steps: 6 u), each rounding relative; / d for a last-axis mean; and the
    product may underflow (one smallest normal each for the product and the division); for probabilities p g / n
    may be flushed before the division by q magnifies it (docs/spec/error-budgets.md#underflow)."""
    u = fmt.unit_roundoff
    name = "prediction" if "prediction" in arrays else "log_prediction"
    scale = _reductions.grad_scale(grad, params, arrays[name].shape)
    gradient = kl_divergence.backward(grad_output=1.0, reduction="sum", **_keywords(arrays, params))
    magnitude = np.where(np.isfinite(gradient), np.abs(gradient * scale), 0.0)
    ops = (3 + (LIBM_ULPS if params.get("log_target") else 0) if name == "log_prediction" else 6)
    ops += _reductions.extra_roundings(params)
    flushed = 0.0
    if name == "prediction":  # Keras clips q to [c, 1] before dividing by it: 1 / c at most
        q = np.abs(np.asarray(arrays["prediction"], dtype=np.float64))
        clip = params.get("clip_probability")
        with np.errstate(divide="ignore"):
            flushed = flushed_products(2, np.maximum(1.0, 1 / (q if clip is None else np.maximum(q, clip))), fmt)
    return {name: ops * u * magnitude + 2 * UNDERFLOW_FLOOR * fmt.tiny + flushed}


def hessian_times(output: np.ndarray, target: np.ndarray, error: np.ndarray, reduction: str) -> np.ndarray:
    """d2 loss / d log q2 = 0: an error in log q does not move the gradient -p."""
    return np.zeros_like(np.asarray(error, dtype=np.float64))


#: the shapes KL is drawn in: (N, C), 1-D (one sample to Keras and optax), a last axis of 1, (N, d1, C). Few, so
#: that a jit-compiling backend (JAX) compiles each once per reduction and dtype instead of once per example.
#: (N, C) first: the simplest draw is one where "batchmean", "mean" and "sum" all differ.
SHAPES = ((2, 3), (4,), (3, 1), (2, 2, 3))


@functools.cache
@st.composite
def inputs(draw, fmt: dtypes.Format, *, prediction: str = "log", log_target: bool = False) -> dict[str, np.ndarray]:
    """log q <= 0 (or q in [0, 1]) and a target p in [0, 1] with exact zeros (or log p <= 0), of a drawn shape
    (at least one axis: Keras and optax sum each sample over the last one)."""
    shape = draw(st.sampled_from(SHAPES))
    bound = draw(st.sampled_from([1.0, 8.0, 30.0]))
    target = draw(float_arrays(fmt, shape, min_value=-bound, max_value=0.0) if log_target
                  else st.one_of(float_arrays(fmt, shape, min_value=0.0, max_value=1.0).map(np.round),
                                 float_arrays(fmt, shape, min_value=0.0, max_value=1.0)))
    if prediction == "log":
        return {"log_prediction": draw(float_arrays(fmt, shape, min_value=-bound, max_value=0.0)), "target": target}
    return {"prediction": draw(float_arrays(fmt, shape, min_value=0.0, max_value=1.0)), "target": target}
