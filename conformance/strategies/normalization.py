"""Inputs for the normalization layers: rows (layer_norm) or channels (batch_norm) with a drawn mean and spread."""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dtypes

__all__ = ["EPSILONS", "MOMENTA", "normalization_problems", "running_problems"]

#: PyTorch's default, Keras's default, and one large enough to dominate a small variance.
EPSILONS = (1e-5, 1e-3, 0.1)
#: PyTorch's default, Keras's default, and two that weight the old and the new value alike or oppositely.
MOMENTA = (0.1, 0.99, 0.5, 0.9)


@functools.cache
@st.composite
def normalization_problems(draw, fmt: dtypes.Format, *, batch_axis: bool) -> dict[str, object]:
    """x = offset + spread * z (z in [-1, 1]) rounded to ``fmt``, weight and bias of x's last axis, an upstream
    gradient and eps. ``batch_axis``: x is (N, C) with N = 2..6 (batch_norm normalizes axis 0; a batch of one
    is its own test); else x is
    (N, n) or (B, T, n) with n = 1..16 (layer_norm normalizes the last axis).

    The offset up to 1e3 with a spread down to 1e-2 is the regime where the mean's rounding dominates (a spread
    tiny next to the mean; docs/spec/error-budgets.md#normalization); eps = 0.1 separates eps inside the square
    root from eps added to the standard deviation. Returns {"arrays": {x, weight, bias}, "grad_output", "eps"}.
    """
    if batch_axis:
        shape = (draw(st.integers(2, 6)), draw(st.integers(1, 4)))
    else:
        leading = draw(st.sampled_from([(), (2,)])) + (draw(st.integers(1, 4)),)
        shape = leading + (draw(st.integers(1, 16)),)
    offset = draw(st.sampled_from([0.0, 1.0, -30.0, 1e3]))
    spread = draw(st.sampled_from([1e-2, 1.0, 4.0, 30.0]))
    z = draw(float_arrays(dtypes.FLOAT64, shape, min_value=-1.0, max_value=1.0))
    features = (shape[-1],)
    return {
        "arrays": {"x": fmt.round(offset + spread * z),
                   "weight": draw(float_arrays(fmt, features, min_value=-4.0, max_value=4.0)),
                   "bias": draw(float_arrays(fmt, features, min_value=-4.0, max_value=4.0))},
        "grad_output": draw(float_arrays(fmt, shape, min_value=-4.0, max_value=4.0)),
        "eps": draw(st.sampled_from(EPSILONS)),
    }


@functools.cache
@st.composite
def running_problems(draw, fmt: dtypes.Format) -> dict[str, object]:
    """1-4 training batches (N = 2..6, the same C = 1..3 channels) drawn as in ``normalization_problems``, a
    momentum, eps, weight and bias, and an inference batch x. The unbiased and the biased variance differ by
    N / (N - 1) >= 6/5, and the two momentum conventions differ unless momentum = 0.5.
    Returns {"batches", "momentum", "x", "weight", "bias", "eps"}."""
    channels = draw(st.integers(1, 3))
    offset = draw(st.sampled_from([0.0, 1.0, -30.0, 1e3]))
    spread = draw(st.sampled_from([1e-2, 1.0, 4.0, 30.0]))

    def batch(rows: int):
        z = float_arrays(dtypes.FLOAT64, (rows, channels), min_value=-1.0, max_value=1.0)
        return z.map(lambda value: fmt.round(offset + spread * value))

    vector = float_arrays(fmt, (channels,), min_value=-4.0, max_value=4.0)
    return {"batches": [draw(batch(draw(st.integers(2, 6)))) for _ in range(draw(st.integers(1, 4)))],
            "momentum": draw(st.sampled_from(MOMENTA)), "x": draw(batch(draw(st.integers(1, 4)))),
            "weight": draw(vector), "bias": draw(vector), "eps": draw(st.sampled_from(EPSILONS))}
