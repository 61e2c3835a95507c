"""Normalization layers: layer_norm over the last axis and batch_norm over the batch, forward and backward, at
a drawn eps (inside the square root) and at rows whose spread is tiny next to their mean.

Spec: docs/spec/normalization.md
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.adapters.base import UnsupportedError
from nnspec.conformance import normalization_checks
from nnspec.conformance.strategies.normalization import normalization_problems, running_problems


@given(data=st.data())
def test_layer_norm_forward_matches_reference(checker, data):
    """Biased variance, eps inside the square root: eps added to the standard deviation, or n - 1, is off by
    far more than the budget at eps = 0.1 or at two features."""
    checker.require("layer_norm", "forward")
    problem = data.draw(normalization_problems(checker.fmt, batch_axis=False), label="problem")
    checker.forward("layer_norm", problem["arrays"], {"eps": problem["eps"]})


@given(data=st.data())
def test_layer_norm_backward_matches_reference(checker, data):
    """grad_x carries the two means of the VJP; grad_weight and grad_bias are summed over every row."""
    checker.require("layer_norm", "backward")
    problem = data.draw(normalization_problems(checker.fmt, batch_axis=False), label="problem")
    checker.vjp("layer_norm", problem["arrays"], problem["grad_output"], {"eps": problem["eps"]})


@given(data=st.data())
def test_batch_norm_forward_matches_reference(checker, data):
    """Training mode: each channel standardized with the batch's own mean and biased variance."""
    checker.require("batch_norm", "forward")
    problem = data.draw(normalization_problems(checker.fmt, batch_axis=True), label="problem")
    checker.forward("batch_norm", problem["arrays"], {"eps": problem["eps"]})


@given(data=st.data())
def test_batch_norm_backward_matches_reference(checker, data):
    """The batch statistics depend on every example: grad_x couples the rows of a channel."""
    checker.require("batch_norm", "backward")
    problem = data.draw(normalization_problems(checker.fmt, batch_axis=True), label="problem")
    checker.vjp("batch_norm", problem["arrays"], problem["grad_output"], {"eps": problem["eps"]})


def test_batch_norm_batch_of_one_gives_bias(checker):
    """N = 1: every channel has variance 0, so y = bias (Keras). PyTorch refuses it in training mode ("Expected
    more than 1 value per channel when training"): its adapter reports the case unsupported."""
    checker.require("batch_norm", "batch of one")
    arrays = {"x": np.array([[3.0, -2.0, 0.5]]), "weight": np.array([2.0, 1.0, -1.0]),
              "bias": np.array([0.5, -1.0, 4.0])}
    try:
        checker.forward("batch_norm", arrays, {"eps": 1e-3})
    except UnsupportedError as error:
        pytest.skip(f"unsupported: {error}")


@given(data=st.data())
def test_batch_norm_running_stats_match_reference(checker, data):
    """After 1-4 training batches: the running mean and variance under the declared conventions (which weight
    the momentum multiplies; the unbiased or biased batch variance), and the inference output they give."""
    checker.require("batch_norm", "running statistics", feature=normalization_checks.FEATURE)
    problem = data.draw(running_problems(checker.fmt), label="problem")
    arguments = [problem[k] for k in ("batches", "momentum", "x", "weight", "bias", "eps")]
    comparisons = normalization_checks.running_statistics(checker.backend, *arguments, checker.fmt)
    checker.expect(comparisons, normalization_checks.case(*arguments))
