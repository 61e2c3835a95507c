"""The training step end to end with the backend's real modules (forward with fixed dropout masks, loss,
backward, one SGD step), and metamorphic checks of training: micro-batches, permuted batches, an epoch.

Spec: docs/spec/training.md
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance import training_checks
from nnspec.conformance.strategies.layers import network_problems
from nnspec.conformance.strategies.training import epoch_problems, micro_batch_sizes, training_problems

SPEC = "docs/spec/training.md"


def _arrays(problem, masks=None) -> dict:
    arrays = {"x": problem["x"], "target": problem["target"]}
    for i, (weight, bias, _) in enumerate(problem["layers"]):
        arrays[f"weight{i}"], arrays[f"bias{i}"] = weight, bias
        if masks is not None and masks[i] is not None:
            arrays[f"mask{i}"] = masks[i]
    return arrays


def _params(problem, **extra) -> dict:
    return {"loss": problem["loss"], "activations": [act for _, _, act in problem["layers"]], **extra}


@given(data=st.data())
def test_training_step_matches_reference(checker, data):
    checker.require("training_step", "one SGD step", feature="training_step")
    problem = data.draw(training_problems(checker.fmt), label="problem")
    comparisons = training_checks.training_step(
        checker.backend, problem["layers"], problem["masks"], problem["x"], problem["target"], problem["loss"],
        {"reduction": problem["reduction"]}, problem["hyper"], checker.fmt)
    checker.expect(comparisons, {"kind": "training_step", "primitive": "training_step",
                                 "arrays": _arrays(problem, problem["masks"]),
                                 "params": _params(problem, reduction=problem["reduction"], hyper=problem["hyper"]),
                                 "spec": f"{SPEC}#step"})


@given(data=st.data())
def test_training_micro_batches_accumulate_to_the_batch(checker, data):
    checker.require("network", "micro-batches accumulate to the batch", feature="network")
    problem = data.draw(network_problems(checker.fmt), label="problem")
    sizes = data.draw(micro_batch_sizes(problem["x"].shape[0]), label="micro-batch sizes")
    comparisons = training_checks.micro_batches(checker.backend, problem["layers"], problem["x"], problem["target"],
                                                problem["loss"], sizes, checker.fmt)
    checker.expect(comparisons, {"kind": "training_micro_batches", "primitive": "network",
                                 "arrays": _arrays(problem), "params": _params(problem, sizes=sizes),
                                 "spec": f"{SPEC}#metamorphic"})


@given(data=st.data())
def test_training_permuted_batch_gives_the_same_loss_and_gradient(checker, data):
    checker.require("network", "permuted batch", feature="network")
    problem = data.draw(network_problems(checker.fmt), label="problem")
    permutation = data.draw(st.permutations(range(problem["x"].shape[0])), label="permutation")
    comparisons = training_checks.permuted_batch(checker.backend, problem["layers"], problem["x"],
                                                 problem["target"], problem["loss"], permutation, checker.fmt)
    checker.expect(comparisons, {"kind": "training_permuted_batch", "primitive": "network",
                                 "arrays": _arrays(problem), "params": _params(problem, permutation=permutation),
                                 "spec": f"{SPEC}#metamorphic"})


@given(problem=epoch_problems())
def test_training_epoch_visits_every_example_once(checker, problem):
    checker.require("epoch_batches", "every example once per epoch", feature="epoch_batches")
    comparisons = training_checks.epoch(checker.backend, **problem)
    checker.expect(comparisons, {"kind": "training_epoch", "primitive": "epoch_batches", "arrays": {},
                                 "params": dict(problem), "spec": f"{SPEC}#metamorphic"})
