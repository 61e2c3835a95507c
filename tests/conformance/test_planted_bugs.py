"""Planted bugs: a torch backend with one thing wrong must fail the suite, and its message must name the
primitive, the dtype, the input and the error/budget, and give a replay command that reproduces it.

Each case runs the real command line (`nnspec run`) in a subprocess on the relevant tests only, and replays the
recorded case in this process (`nnspec.cli.main`).
"""

from __future__ import annotations

import shlex

import pytest

pytest.importorskip("torch")

MUTANTS = [
    # (class in nnspec.adapters.mutants, -k expression, primitive named in the failure, further run arguments)
    ("ReluGradAtZeroIsOne", "test_elementwise_special_points and -relu", "relu", ()),
    ("SoftmaxWithoutMaxShift", "test_rowwise_forward_matches_reference and -softmax", "softmax", ()),
    ("UnstableBceWithLogits", "test_loss_forward_matches_reference and binary_cross_entropy_with_logits",
     "binary_cross_entropy_with_logits", ()),
    # shrinking this one to x = [[0], [0]] takes 50 s of its 55; the cases above and below are still shrunk
    ("BiasGradientNotSummed", "test_dense_backward", "dense", ("--no-shrink",)),
    # WeightGradientTransposed: test_replayed_case_passes_on_the_correct_backend, which also replays it on torch
    ("Tf32Dense", "test_dense_forward", "dense", ()),
]


@pytest.mark.parametrize(("mutant", "keyword", "primitive", "extra"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_bug_fails_with_a_replayable_message(planted_bug_fails, mutant, keyword, primitive, extra):
    planted_bug_fails(mutant, keyword, primitive, "float32", *extra)


def test_float16_computed_in_bfloat16_fails(planted_bug_fails):
    """A float16 kernel that computes in bfloat16 (3 bits short) is rejected by the float16 budget."""
    planted_bug_fails("Float16ComputedInBfloat16", "test_loss_forward_matches_reference and mean_squared_error",
                      "mean_squared_error", "float16")


def test_replayed_case_passes_on_the_correct_backend(tmp_path, planted_bug_fails, nnspec_here):
    """A transposed weight gradient fails like the bugs above; the same recorded input, replayed against unmodified
    torch, is within budget: the failure was the bug's. (One run serves both checks.)"""
    case = planted_bug_fails("WeightGradientTransposed", "test_dense_backward", "dense")
    case_file = shlex.split(case["replay"])[2]  # nnspec replay CASE --backend ...
    replay = nnspec_here("replay", case_file, "--backend", "torch", cwd=tmp_path)
    assert replay.returncode == 0, replay.stdout + replay.stderr
