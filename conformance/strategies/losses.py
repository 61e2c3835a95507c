"""Inputs for losses: regression pairs, probabilities with their edges, logits, and classification batches."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.strategies.activations import rows
from nnspec.conformance.strategies.arrays import float_arrays, integer_arrays, magnitudes, shapes
from nnspec.reference import dtypes

__all__ = ["reductions", "regression_pairs", "residual_pairs", "probability_pairs", "logit_pairs",
           "classification_batches", "label_smoothings"]

reductions = st.sampled_from(["mean", "sum", "none"])
label_smoothings = st.sampled_from([0.0, 0.1, 0.25])


@functools.cache
@st.composite
def regression_pairs(draw, fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """prediction and target of one shape; bounded so that no squared difference, nor their sum over the
    at most 125 elements drawn, can overflow."""
    limit = np.sqrt(fmt.max) / 64
    bound = min(draw(magnitudes(fmt)), limit)
    shape = draw(shapes())
    return {"prediction": draw(float_arrays(fmt, shape, min_value=-bound, max_value=bound)),
            "target": draw(float_arrays(fmt, shape, min_value=-bound, max_value=bound))}


@functools.cache
@st.composite
def residual_pairs(draw, fmt: dtypes.Format, delta: float = 1.0) -> dict[str, np.ndarray]:
    """prediction and target whose residuals r = p - t fall on both sides of ``delta`` (the Huber kink) and,
    at drawn positions, exactly on r = +-delta: there the target is a multiple of 1/4 in [-4, 4] and delta one
    of the room's dyadic deltas, so t +- delta is exact in every dtype. No sum of the at most 125 losses
    (each at most delta |r|) can overflow."""
    bound = min(draw(magnitudes(fmt)), fmt.max / 1024 / max(delta, 1.0))
    shape = draw(shapes())
    target = draw(float_arrays(fmt, shape, min_value=-bound, max_value=bound))
    spread = draw(st.sampled_from([0.5, 2.0, 16.0])) * max(delta, 1.0)  # residuals up to a few deltas
    residual = draw(float_arrays(fmt, shape, min_value=-spread, max_value=spread))
    prediction = fmt.round(np.clip(target + residual, -fmt.max, fmt.max))
    kinks = np.array([0.0, 0.0, 1.0, -1.0])[draw(integer_arrays(shape, min_value=0, max_value=3))]  # half 0
    quarters = draw(integer_arrays(shape, min_value=-16, max_value=16)) / 4
    target = np.where(kinks != 0, quarters, target)
    prediction = np.where(kinks != 0, target + kinks * delta, prediction)
    return {"prediction": np.where(np.abs(prediction) < fmt.tiny, 0.0, prediction), "target": target}


@functools.cache
def _targets(fmt: dtypes.Format, shape) -> st.SearchStrategy[np.ndarray]:
    """Hard 0/1 targets or soft targets in [0, 1]."""
    hard = float_arrays(fmt, shape, min_value=0.0, max_value=1.0).map(np.round)
    return st.one_of(hard, float_arrays(fmt, shape, min_value=0.0, max_value=1.0))


@functools.cache
@st.composite
def probability_pairs(draw, fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """probability in [0, 1] (0 and 1 included, where BCE meets log 0) and a target."""
    shape = draw(shapes())
    return {"probability": draw(float_arrays(fmt, shape, min_value=0.0, max_value=1.0)),
            "target": draw(_targets(fmt, shape))}


@functools.cache
@st.composite
def logit_pairs(draw, fmt: dtypes.Format, *, allow_infinity: bool = False) -> dict[str, np.ndarray]:
    """logits up to a quarter of the dtype's range (and +-inf when asked) with a target."""
    bound = draw(magnitudes(fmt))
    shape = draw(shapes())
    return {"logits": draw(float_arrays(fmt, shape, min_value=-bound, max_value=bound,
                                        allow_infinity=allow_infinity)),
            "target": draw(_targets(fmt, shape))}


@functools.cache
@st.composite
def classification_batches(draw, fmt: dtypes.Format, *, targets: str) -> dict[str, np.ndarray]:
    """logits (N, C) from ``rows`` and either integer labels (N,) or probability rows (N, C)."""
    logits = draw(rows(fmt))
    n, classes = logits.shape
    if targets == "labels":
        labels = draw(integer_arrays((n,), min_value=0, max_value=classes - 1))
        return {"logits": logits, "target": labels.astype(np.int64)}
    weights = draw(float_arrays(dtypes.FLOAT64, (n, classes), min_value=0.0, max_value=1.0))
    weights[:, 0] += 1.0  # every row has mass
    return {"logits": logits, "target": fmt.round(weights / weights.sum(axis=1, keepdims=True))}
