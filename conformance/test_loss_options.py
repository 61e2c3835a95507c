"""Loss options: BCE-with-logits' pos_weight, Keras's binary label smoothing, KL divergence (every reduction,
log targets, probabilities), and the reductions over extra dimensions (a declared last-axis step).

Spec: docs/spec/losses.md#pos-weight, #binary-label-smoothing, #kl-divergence, #last-axis
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.losses import kl_divergence as kl_room
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.conformance.strategies.losses import logit_pairs, probability_pairs, reductions
from nnspec.reference import dtypes
from nnspec.reference.losses import _reduction

#: positive weights exact in every dtype (bfloat16 included), 0 and 1 among them
POS_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 8.0)
SMOOTHINGS = st.sampled_from([0.1, 0.25, 0.5])
BINARY = {"binary_cross_entropy": probability_pairs, "binary_cross_entropy_with_logits": logit_pairs}
#: (catalogue name, log_target): the KL variants, and the option each needs
KL = {"kl_divergence": ("log", False), "kl_divergence_log_target": ("log", True),
      "kl_divergence_probs": ("probs", False)}


def _grad(data, checker, primitive: str, arrays: dict, reduction: str):
    """A grad_output of the losses' shape ("none": without the last axis where the backend declares last_axis)."""
    shape = ()
    if reduction == "none":
        last_axis = checker.backend.capabilities().conventions.get(primitive, {}).get("last_axis")
        shape = _reduction.loss_shape(next(iter(arrays.values())).shape, last_axis)
    return data.draw(float_arrays(checker.fmt, shape, min_value=-4.0, max_value=4.0), label="grad_output")


@functools.cache
@st.composite
def _pos_weight_case(draw, fmt: dtypes.Format):
    """logit_pairs' logits divided by the power of two at or above the largest weight drawn: each loss, up to
    w |x|, then stays within the quarter of the range that logit_pairs keeps |x| in. (An element loss beyond the
    range is not representable, and a mean of such elements is the mean-overflow case that
    docs/findings.md#torch-mean-overflow describes, not pos_weight's.) Dividing by a power of two is exact; a
    quotient below the smallest normal becomes 0, as float_arrays keeps inputs normal."""
    arrays = draw(logit_pairs(fmt))
    width = arrays["logits"].shape[-1]
    weight = draw(st.lists(st.sampled_from(POS_WEIGHTS), min_size=width, max_size=width))
    logits = arrays["logits"] / 2.0 ** math.ceil(math.log2(max(1.0, *weight)))
    return {**arrays, "logits": np.where(np.abs(logits) < fmt.tiny, 0.0, logits)}, weight


@given(data=st.data(), reduction=reductions)
def test_bce_with_logits_pos_weight_forward(checker, data, reduction):
    checker.require("binary_cross_entropy_with_logits", "pos_weight forward", options=("pos_weight",))
    arrays, weight = data.draw(_pos_weight_case(checker.fmt), label="case")
    checker.forward("binary_cross_entropy_with_logits", arrays, {"reduction": reduction, "pos_weight": weight})


@given(data=st.data(), reduction=reductions)
def test_bce_with_logits_pos_weight_backward(checker, data, reduction):
    checker.require("binary_cross_entropy_with_logits", "pos_weight backward", options=("pos_weight",))
    arrays, weight = data.draw(_pos_weight_case(checker.fmt), label="case")
    g = _grad(data, checker, "binary_cross_entropy_with_logits", arrays, reduction)
    checker.vjp("binary_cross_entropy_with_logits", arrays, g, {"reduction": reduction, "pos_weight": weight})


@pytest.mark.parametrize("primitive", list(BINARY))
@given(data=st.data(), reduction=reductions, smoothing=SMOOTHINGS)
def test_binary_label_smoothing_forward(checker, primitive, data, reduction, smoothing):
    checker.require(primitive, "label smoothing forward", options=("label_smoothing",))
    arrays = data.draw(BINARY[primitive](checker.fmt), label="arrays")
    checker.forward(primitive, arrays, {"reduction": reduction, "label_smoothing": smoothing})


@pytest.mark.parametrize("primitive", list(BINARY))
@given(data=st.data(), reduction=reductions, smoothing=SMOOTHINGS)
def test_binary_label_smoothing_backward(checker, primitive, data, reduction, smoothing):
    checker.require(primitive, "label smoothing backward", options=("label_smoothing",))
    arrays = data.draw(BINARY[primitive](checker.fmt), label="arrays")
    g = _grad(data, checker, primitive, arrays, reduction)
    checker.vjp(primitive, arrays, g, {"reduction": reduction, "label_smoothing": smoothing})


def _kl_setup(checker, variant: str, prop: str):
    """(catalogue name, params of the variant, the reductions the backend has: "batchmean" only without a
    last-axis step, whose "mean" it is)."""
    prediction, log_target = KL[variant]
    primitive = "kl_divergence_probs" if prediction == "probs" else "kl_divergence"
    checker.require(primitive, prop, options=("log_target",) if log_target else ())
    last_axis = checker.backend.capabilities().conventions.get(primitive, {}).get("last_axis")
    names = ([] if last_axis else ["batchmean"]) + ["mean", "sum", "none"]  # batchmean first: the simplest draw
    return primitive, ({"log_target": True} if log_target else {}), names


@pytest.mark.parametrize("variant", list(KL))
@given(data=st.data())
def test_kl_divergence_forward(checker, variant, data):
    primitive, params, names = _kl_setup(checker, variant, "forward")
    prediction, log_target = KL[variant]
    arrays = data.draw(kl_room.inputs(checker.fmt, prediction=prediction, log_target=log_target), label="arrays")
    checker.forward(primitive, arrays, {**params, "reduction": data.draw(st.sampled_from(names), label="reduction")})


@pytest.mark.parametrize("variant", list(KL))
@given(data=st.data())
def test_kl_divergence_backward(checker, variant, data):
    primitive, params, names = _kl_setup(checker, variant, "backward")
    prediction, log_target = KL[variant]
    arrays = data.draw(kl_room.inputs(checker.fmt, prediction=prediction, log_target=log_target), label="arrays")
    reduction = data.draw(st.sampled_from(names), label="reduction")
    grad_output = _grad(data, checker, primitive, arrays, reduction)
    checker.vjp(primitive, arrays, grad_output, {**params, "reduction": reduction})


#: the elementwise losses whose reduction over extra dimensions differs between PyTorch and Keras
ELEMENTWISE = ("mean_squared_error", "binary_cross_entropy", "binary_cross_entropy_with_logits", "huber")


def _extra_dimensions(primitive: str, fmt: dtypes.Format, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Fixed inputs of ``shape`` (N, d1[, d2]): the last axis has more than one entry, so a per-sample mean over
    it (Keras) and PyTorch's every-element "sum" and "none" differ by a factor or a shape."""
    rng = np.random.default_rng(sum(shape))
    first = rng.uniform(0.0, 1.0, shape) if primitive == "binary_cross_entropy" else rng.uniform(-3.0, 3.0, shape)
    name = {"binary_cross_entropy": "probability", "binary_cross_entropy_with_logits": "logits"}.get(primitive,
                                                                                                      "prediction")
    target = rng.uniform(0.0, 1.0, shape) if primitive.startswith("binary") else rng.uniform(-3.0, 3.0, shape)
    return {name: fmt.round(first), "target": fmt.round(target)}


@pytest.mark.parametrize("primitive", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(2, 3, 4)], ids=["N-d1-d2"])
def test_reduction_over_extra_dimensions(checker, primitive, shape):
    """"sum" and "none" of an input (N, d1, d2), forward and backward, in the backend's declared convention:
    every element (PyTorch, optax) or each sample's mean over the last axis first (Keras). (N, d) inputs are
    among every loss test's drawn shapes; "mean", where the conventions agree, is too."""
    checker.require(primitive, "reduction over extra dimensions")
    arrays = _extra_dimensions(primitive, checker.fmt, shape)
    last_axis = checker.backend.capabilities().conventions.get(primitive, {}).get("last_axis")
    for reduction in ("sum", "none"):
        checker.forward(primitive, arrays, {"reduction": reduction})
        grad = np.ones(_reduction.loss_shape(shape, last_axis) if reduction == "none" else ())
        checker.vjp(primitive, arrays, grad, {"reduction": reduction})
