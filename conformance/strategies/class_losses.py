"""Inputs for the class-indexed losses' options: logits or log-probabilities of shape (N, C) or (N, C, d1, ...),
labels with some of them ignored, class weights (docs/spec/losses.md#class-weights-and-ignore-index)."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance.strategies.arrays import float_arrays, integer_arrays
from nnspec.reference import dtypes

__all__ = ["class_batches", "IGNORED_LABEL"]

#: PyTorch's default ignore_index: a label outside [0, C), as in segmentation masks
IGNORED_LABEL = -100
#: 1 to 5 classes, 2 first: the simplest draw (the first example, the shrink target) is not the degenerate one
#: class, whose loss is 0 whatever the logits, which a wrong "mean" divisor cannot change
_CLASS_COUNTS = st.sampled_from([2, 3, 4, 5, 1])


@functools.cache
@st.composite
def _predictions(draw, fmt: dtypes.Format, shape: tuple[int, ...], log_probs: bool) -> np.ndarray:
    """Logits shift + spread * t, t in [-1, 1] (the softmax family's hard regime: shifts up to 1e8, spreads up
    to 1e4, as strategies.activations.rows), or log-probabilities log_softmax-like in [-spread, 0]."""
    top = fmt.max
    spread = draw(st.sampled_from([s for s in (1.0, 30.0, 1e4) if s < top / 64]))
    t = draw(float_arrays(dtypes.FLOAT64, shape, min_value=-1.0, max_value=1.0))
    if log_probs:
        return fmt.round(-spread * np.abs(t))
    shift = draw(st.sampled_from([s for s in (0.0, 1e4, -1e4, 1e8, -1e8) if abs(s) < top / 64]))
    return fmt.round(shift + spread * t)


@functools.cache
@st.composite
def class_batches(draw, fmt: dtypes.Format, *, targets: str = "labels", spatial: bool = False, weighted: bool = False,
                  ignored: bool = False, log_probs: bool = False) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """(arrays, params) for one class-indexed loss check.

    Shape (N, C) or, with ``spatial``, (N, C, d1) or (N, C, d1, d2), at most 12 positions. ``targets``: "labels"
    (N, d1, ...) or "probabilities" (the logits' shape, rows summing to 1). ``ignored``: ``ignore_index`` is
    -100 or one of the classes, and at least one position carries it and at least one does not (a mean over
    nothing is 0/0, a convention of its own). ``weighted``: class weights in [1/8, 4], exact in ``fmt``, one of
    them sometimes 0, never the weight of the first kept label (so that the "mean" never divides by 0)."""
    n, classes = draw(st.integers(1, 4)), draw(_CLASS_COUNTS)
    extra = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))) if spatial else ()
    if ignored:
        n = max(n, 2)
    shape = (n, classes, *extra)
    arrays = {"log_probs" if log_probs else "logits": draw(_predictions(fmt, shape, log_probs))}
    params: dict[str, object] = {}
    label_shape = (n, *extra)
    if targets == "probabilities":
        mass = draw(float_arrays(dtypes.FLOAT64, shape, min_value=0.0, max_value=1.0))
        mass[:, 0] += 1.0  # every row has mass
        arrays["target"] = fmt.round(mass / mass.sum(axis=1, keepdims=True))
        kept_first = 0
    else:
        size = int(np.prod(label_shape))
        labels = draw(integer_arrays((size,), min_value=0, max_value=classes - 1))
        if ignored:
            ignore_index = draw(st.sampled_from([IGNORED_LABEL, *range(classes)]))
            mask = draw(integer_arrays((size,), min_value=0, max_value=1)).astype(bool)
            mask[0], mask[-1] = True, False  # some ignored, some kept
            labels = np.where(mask, ignore_index, labels if ignore_index < 0 else np.where(
                labels == ignore_index, (labels + 1) % classes, labels))
            if ignore_index >= 0 and classes == 1:  # one class, and it is ignored: keep the last position
                ignore_index = IGNORED_LABEL
                labels = np.where(mask, IGNORED_LABEL, 0)
            params["ignore_index"] = int(ignore_index)
        arrays["target"] = labels.reshape(label_shape).astype(np.int64)
        kept_first = int(labels[labels != params.get("ignore_index", IGNORED_LABEL)][0])
    if weighted:
        weight = fmt.round(draw(float_arrays(dtypes.FLOAT64, (classes,), min_value=0.125, max_value=4.0)))
        if classes > 1 and draw(st.booleans()):
            weight[(kept_first + 1) % classes] = 0.0  # a class that weighs nothing
        params["weight"] = [float(w) for w in weight]
    return arrays, params
