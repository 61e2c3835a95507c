"""A small network's loss and parameter gradients, built from the backend's own layer objects, agree with the
reference's explicit backpropagation (the chain rule, layer by layer).

Spec: docs/spec/backpropagation.md#network
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.strategies.layers import network_problems


@given(data=st.data())
def test_network_gradients_match_reference(checker, data):
    checker.require("network", "loss and gradients", feature="network")
    problem = data.draw(network_problems(checker.fmt), label="problem")
    checker.network(problem["layers"], problem["x"], problem["target"], problem["loss"], problem["reduction"])
