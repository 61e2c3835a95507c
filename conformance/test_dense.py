"""Dense layers: y = x W + b and its three gradients, including the bias gradient summed over the batch.

Spec: docs/spec/perceptron-and-dense.md#dense
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.strategies.layers import dense_problems


def _arrays(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "grad_output"}


@given(data=st.data())
def test_dense_forward_matches_reference(checker, data):
    checker.require("dense", "forward")
    problem = data.draw(dense_problems(checker.fmt), label="problem")
    checker.forward("dense", _arrays(problem))


@given(data=st.data())
def test_dense_backward_matches_reference(checker, data):
    """grad_x = g W^T, grad_W = x^T g, grad_b = sum over the batch of g: a transposed or unsummed gradient
    is off by O(1)."""
    checker.require("dense", "backward")
    problem = data.draw(dense_problems(checker.fmt), label="problem")
    checker.vjp("dense", _arrays(problem), problem["grad_output"])
