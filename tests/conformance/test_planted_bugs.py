"""Planted bugs: a torch backend with one thing wrong must fail the suite, and its message must name the
primitive, the dtype, the input and the error/budget, and give a replay command that reproduces it.

Each case runs the real command line (`nnspec run`) in a subprocess on the relevant tests only.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

MUTANTS = [
    # (class in nnspec.adapters.mutants, -k expression, primitive named in the failure)
    ("ReluGradAtZeroIsOne", "test_elementwise_special_points and -relu", "relu"),
    ("SoftmaxWithoutMaxShift", "test_rowwise_forward_matches_reference and -softmax", "softmax"),
    ("UnstableBceWithLogits", "test_loss_forward_matches_reference and binary_cross_entropy_with_logits",
     "binary_cross_entropy_with_logits"),
    ("BiasGradientNotSummed", "test_dense_backward", "dense"),
    ("WeightGradientTransposed", "test_dense_backward", "dense"),
    ("Tf32Dense", "test_dense_forward", "dense"),
]


@pytest.mark.parametrize(("mutant", "keyword", "primitive"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_bug_fails_with_a_replayable_message(planted_bug_fails, mutant, keyword, primitive):
    planted_bug_fails(mutant, keyword, primitive)


def test_float16_computed_in_bfloat16_fails(planted_bug_fails):
    """A float16 kernel that computes in bfloat16 (3 bits short) is rejected by the float16 budget."""
    planted_bug_fails("Float16ComputedInBfloat16", "test_loss_forward_matches_reference and mean_squared_error",
                      "mean_squared_error", "float16")


def test_replayed_case_passes_on_the_correct_backend(tmp_path, nnspec_cli):
    """The same recorded input, replayed against unmodified torch, is within budget: the failure was the bug's."""
    run = nnspec_cli("run", "--backend", "nnspec.adapters.mutants:WeightGradientTransposed", "--dtype", "float32",
                     "-k", "test_dense_backward", "--report", str(tmp_path / "r"), cwd=tmp_path)
    assert run.returncode == 1
    case_file = next((tmp_path / "r" / "failures").glob("*.json"))
    replay = nnspec_cli("replay", str(case_file), "--backend", "torch", cwd=tmp_path)
    assert replay.returncode == 0, replay.stdout + replay.stderr
