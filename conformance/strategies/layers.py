"""Inputs for dense layers and small networks."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance import budgets
from nnspec.conformance.strategies.arrays import float_arrays, integer_arrays
from nnspec.reference import catalogue, dtypes

__all__ = ["dense_problems", "network_problems", "NETWORK_LOSSES", "SMOOTH_ACTIVATIONS"]

#: Activations of the network checks: smooth, so that rounding cannot move an input across a kink and change
#: a derivative by O(1) (kinks are checked directly on the primitives). Read off the catalogue: every elementwise
#: activation whose room gives ``second_derivative``, which the network bound needs (conformance/network.py).
SMOOTH_ACTIVATIONS = tuple(name for name, module in catalogue.modules("elementwise").items()
                           if hasattr(budgets.room_of(module), "second_derivative"))


@functools.cache
@st.composite
def dense_problems(draw, fmt: dtypes.Format, *, max_features: int = 64) -> dict[str, np.ndarray]:
    """x (N, K), weight (K, J), bias (J,) or None, and an upstream gradient (N, J).

    K goes up to 64: the accumulation length is what separates a float32 matmul from a TF32 one
    (docs/spec/error-budgets.md#tf32); values up to 4 keep float16 products finite.
    """
    n, k, j = draw(st.integers(1, 6)), draw(st.integers(1, max_features)), draw(st.integers(1, 6))
    bound = draw(st.sampled_from([1.0, 4.0]))
    problem = {
        "x": draw(float_arrays(fmt, (n, k), min_value=-bound, max_value=bound)),
        "weight": draw(float_arrays(fmt, (k, j), min_value=-bound, max_value=bound)),
        "grad_output": draw(float_arrays(fmt, (n, j), min_value=-bound, max_value=bound)),
    }
    with_bias = draw(st.booleans())
    problem["bias"] = draw(float_arrays(fmt, (j,), min_value=-bound, max_value=bound)) if with_bias else None
    return problem


NETWORK_LOSSES = ("mean_squared_error", "binary_cross_entropy_with_logits", "softmax_cross_entropy")


@functools.cache
@st.composite
def network_problems(draw, fmt: dtypes.Format) -> dict[str, object]:
    """A 1-3 layer network (weights (in, out), biases, smooth activations), a batch x and a target.

    Returns {"layers": [(weight, bias, activation)], "x", "target", "loss", "reduction"}; the last layer's
    activation is identity so that the loss sees logits or predictions, as in practice.
    """
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 4)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(NETWORK_LOSSES))
    if loss == "softmax_cross_entropy":
        widths[-1] = max(widths[-1], 2)
    batch = draw(st.integers(1, 4))
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        activation = "identity" if index == depth - 1 else draw(st.sampled_from(SMOOTH_ACTIVATIONS))
        layers.append((draw(float_arrays(fmt, (fan_in, fan_out), min_value=-1.0, max_value=1.0)),
                       draw(float_arrays(fmt, (fan_out,), min_value=-1.0, max_value=1.0)), activation))
    x = draw(float_arrays(fmt, (batch, widths[0]), min_value=-2.0, max_value=2.0))
    if loss == "softmax_cross_entropy":
        target = draw(integer_arrays((batch,), min_value=0, max_value=widths[-1] - 1))
    elif loss == "binary_cross_entropy_with_logits":
        target = draw(float_arrays(fmt, (batch, widths[-1]), min_value=0.0, max_value=1.0))
    else:
        target = draw(float_arrays(fmt, (batch, widths[-1]), min_value=-2.0, max_value=2.0))
    return {"layers": layers, "x": x, "target": target, "loss": loss,
            "reduction": draw(st.sampled_from(["mean", "sum"]))}
