"""Planted dropout and early-stopping bugs must fail the suite, with a message that names the primitive, the
dtype, the input and the error/budget, and a replay command that reproduces the failure.

Each case runs the real command line (`nnspec run`) in a subprocess on the relevant test only, and replays the
recorded case in this process (`nnspec.cli.main`).
"""

from __future__ import annotations

import shlex

import pytest

pytest.importorskip("torch")

MUTANTS = [
    # (class in nnspec.adapters.mutants, -k expression, primitive named in the failure)
    ("DropoutWithoutScale", "test_dropout_kept_values_are_scaled", "dropout"),
    ("DropoutScalesAtEval", "test_dropout_in_eval_mode_is_the_identity", "dropout"),
    ("DropoutMaskReusedAcrossCalls", "test_dropout_calls_are_independent", "dropout"),
    # DropoutKeepRateOff: test_replayed_statistical_case_passes_on_a_correct_backend, which also replays it
    ("EarlyStoppingRestoresOnlyWhenStopped", "test_early_stopping_restores_best_weights_when_epochs_run_out",
     "early_stopping"),
    ("EarlyStoppingPatienceOffByOne", "test_early_stopping_counts_patience_in_non_improving_epochs",
     "early_stopping"),
]


@pytest.mark.parametrize(("mutant", "keyword", "primitive"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_training_bug_fails_with_a_replayable_message(planted_bug_fails, mutant, keyword, primitive):
    # the dropout cases draw seeds and rates, which shrinking cannot make more readable: --no-shrink saves minutes
    planted_bug_fails(mutant, keyword, primitive, "float32", *(("--no-shrink",) if primitive == "dropout" else ()))


def test_replayed_statistical_case_passes_on_a_correct_backend(tmp_path, planted_bug_fails, nnspec_here):
    """A keep rate that is off fails like the bugs above; the keep-rate case recorded against the buggy backend,
    replayed against a correct one (torch, the reference), passes: the failure was the bug's, not the statistics'.
    (One run serves all three checks.)"""
    case = planted_bug_fails("DropoutKeepRateOff", "test_dropout_keep_rate_is_binomial", "dropout", "float32",
                             "--no-shrink")
    case_file = shlex.split(case["replay"])[2]  # nnspec replay CASE --backend ...
    for backend in ("torch", "reference"):
        replay = nnspec_here("replay", case_file, "--backend", backend, cwd=tmp_path)
        assert replay.returncode == 0, backend + ": " + replay.stdout + replay.stderr
