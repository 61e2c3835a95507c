"""One dropout layer that draws the same mask at every call (adapters/mutants_dropout.py) must fail the `ci` run
of the dropout tests, through the stream checks that drive one layer as training does (issue 16); the real
backends must pass those checks.

Each case runs the real command line (`nnspec run`) in a subprocess on the dropout tests, in float32.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.conformance import checks, training_checks
from nnspec.reference import dtypes

SEEDED, UNSEEDED = "test_dropout_stream_calls_are_independent", "test_dropout_stream_unseeded_calls_are_independent"
F32 = dtypes.FORMATS["float32"]
TRAINING = "test_dropout_training_steps_draw_fresh_masks"
MUTANTS = [
    # (class in nnspec.adapters.mutants_dropout, framework it needs, the tests it must fail)
    ("TorchReseededEveryCall", "torch", {SEEDED, UNSEEDED}),  # the adapter's stream reseeds; training does not
    ("TorchDropoutFixedMask", "torch", {SEEDED, UNSEEDED, TRAINING}),
    ("KerasSeedGeneratorNeverAdvanced", "tensorflow", {SEEDED, UNSEEDED, TRAINING}),
    ("JaxKeyNeverSplit", "jax", {SEEDED, TRAINING}),  # JAX has no unseeded stream
]
STREAM_TESTS = {"test_dropout_stream_outputs_are_kept_or_dropped_values",
                "test_dropout_stream_keep_rate_is_binomial_in_every_call",
                "test_dropout_stream_calls_are_independent",
                "test_dropout_stream_unseeded_calls_are_independent",
                "test_dropout_stream_same_seed_gives_the_same_sequence"}


def _requirements() -> None:
    for module in ("torch", "tensorflow", "jax"):  # adapters/mutants_dropout.py imports all three backends
        pytest.importorskip(module)


@pytest.mark.parametrize(("mutant", "framework", "expected"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_same_mask_every_call_fails_the_dropout_run(failing_run, mutant, framework, expected):
    """Only the independence of calls (and of training steps) fails, with a message naming dropout, the dtype,
    the pair of calls and the error/budget: the mutant is right call by call, so the per-call tests pass."""
    _requirements()
    failed = failing_run("--backend", f"nnspec.adapters.mutants_dropout:{mutant}", "--dtype", "float32",
                         "--profile", "ci", "--no-shrink", "-k", "dropout and (calls or stream or training_steps)")
    assert {case["test"] for case in failed} == expected, [(c["test"], c["message"]) for c in failed]
    message = failed[0]["message"]
    for fragment in (" float32 dropout ", "kept in both calls", "error/budget", "replay this case: nnspec replay "):
        assert fragment in message, message


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
def test_real_backends_pass_the_stream_checks(tmp_path, nnspec_cli, backend):
    """The real torch, Keras and JAX streams pass at the `ci` profile, and are judged (passed, not unsupported);
    JAX alone declares no unseeded stream (its dropout needs a key)."""
    pytest.importorskip(backend)
    run = nnspec_cli("run", "--backend", backend, "--dtype", "float32", "--profile", "ci", "-k", "dropout_stream",
                     "--jobs", "0", "--report", str(tmp_path / "r"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cases = json.loads((tmp_path / "r" / "report.json").read_text())["cases"]
    outcomes = {case["test"]: case["outcome"] for case in cases}
    unsupported = {"test_dropout_stream_unseeded_calls_are_independent"} if backend == "jax" else set()
    assert outcomes == {test: "unsupported" if test in unsupported else "passed" for test in STREAM_TESTS}


# --- in process, on the reference: the stream checks can fail, and only for the bug they target -------------


class _SameMaskEveryCall(ReferenceBackend):
    def dropout_stream(self, x, p, n_calls, seed, dtype):
        return super().dropout_stream(x, p, 1, seed, dtype) * n_calls


class _TwoMasksAlternating(ReferenceBackend):
    """Calls 0, 2, ... share one mask and calls 1, 3, ... another: consecutive calls look independent."""

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        first, second = super().dropout_stream(x, p, 2, seed, dtype)
        return [first if t % 2 == 0 else second for t in range(n_calls)]


def _failing(backend, statistic: str, seed: int | None = 3) -> set[str]:
    comparisons = training_checks.dropout_stream_statistic(backend, statistic, 0.5, seed, 7, F32)
    return {name for name, comparison in comparisons.items() if not comparison.ok}


def test_reference_stream_passes_every_stream_check():
    for statistic in ("values", "keep_rate", "independent_calls", "same_seed"):
        assert _failing(ReferenceBackend(), statistic) == set(), statistic
    assert _failing(ReferenceBackend(), "independent_calls", seed=None) == set()


def test_a_mask_repeated_every_call_fails_every_pair_and_nothing_else():
    assert _failing(_SameMaskEveryCall(), "independent_calls") == {
        f"kept in both calls {i} and {j}" for i in range(4) for j in range(i + 1, 4)}
    assert _failing(_SameMaskEveryCall(), "keep_rate") == set()


def test_a_mask_repeated_every_other_call_fails_the_pairs_two_calls_apart():
    assert _failing(_TwoMasksAlternating(), "independent_calls") == {"kept in both calls 0 and 2",
                                                                      "kept in both calls 1 and 3"}


def test_a_recorded_stream_case_replays_through_run_case():
    case = {"kind": "dropout_stream_independent_calls", "arrays": {}, "dtype": "float32",
            "params": {"p": 0.5, "seed": 3, "x_seed": 7, "n_calls": 4}}
    assert all(c.ok for c in checks.run_case(ReferenceBackend(), case).values())
    assert not all(c.ok for c in checks.run_case(_SameMaskEveryCall(), case).values())


@pytest.mark.parametrize(("statistic", "seed", "n_calls", "message"), [
    ("autocorrelation", 1, 4, "statistic must be one of"),
    ("keep_rate", 1, 1, "n_calls must be an integer >= 2"),
    ("keep_rate", 1, 2.0, "n_calls must be an integer >= 2"),
    ("same_seed", None, 4, "seed must be an integer"),
])
def test_stream_statistic_rejects_bad_arguments(statistic, seed, n_calls, message):
    with pytest.raises(ValueError, match=f"dropout_stream_statistic: {message}"):
        training_checks.dropout_stream_statistic(ReferenceBackend(), statistic, 0.5, seed, 7, F32, n_calls)


def test_stream_outputs_of_the_wrong_length_fail():
    class TooFew(ReferenceBackend):
        def dropout_stream(self, x, p, n_calls, seed, dtype):
            return super().dropout_stream(x, p, n_calls - 1, seed, dtype)

    (comparison,) = training_checks.dropout_stream_statistic(TooFew(), "keep_rate", 0.5, 3, 7, F32).values()
    assert not comparison.ok and np.isinf(comparison.ratio)
