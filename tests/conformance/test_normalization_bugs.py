"""Planted bugs in the normalization layers (adapters/mutants_normalization.py) must fail the `ci` run of the
normalization tests, with a message naming the cell; the real backends must pass those tests, judged (not
unsupported) where the framework has the layer.

Each case runs the real command line (`nnspec run`), in float32.
"""

from __future__ import annotations

import pytest

KEYWORD = "layer_norm or batch_norm"
MUTANTS = [
    # (class in nnspec.adapters.mutants_normalization, the tests it must fail, a fragment of the first message)
    ("TorchLayerNormEpsOutsideSqrt", {"test_layer_norm_forward_matches_reference",
                                      "test_layer_norm_backward_matches_reference"},
     " float32 layer_norm forward: output is outside its error budget"),
    ("TorchBatchNormUnbiasedVariance", {"test_batch_norm_forward_matches_reference",
                                        "test_batch_norm_backward_matches_reference",
                                        "test_batch_norm_batch_of_one_gives_bias"},
     " float32 batch_norm forward: output is outside its error budget"),
    ("TorchRunningVarianceBiased", {"test_batch_norm_running_stats_match_reference"},
     " float32 batch_norm_running_stats running statistics: running_var is outside its error budget"),
]


@pytest.mark.parametrize(("mutant", "expected", "fragment"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_normalization_bug_fails_the_run(failing_run, mutant, expected, fragment):
    pytest.importorskip("torch")
    failed = failing_run("--backend", f"nnspec.adapters.mutants_normalization:{mutant}", "--dtype", "float32",
                         "--profile", "ci", "--no-shrink", "-k", KEYWORD)
    assert {case["test"].split("[")[0].split("::")[-1] for case in failed} == expected, \
        [(c["test"], c["message"][:200]) for c in failed]
    messages = [case["message"] for case in failed]
    assert any(fragment in message and "error/budget" in message and "replay this case: nnspec replay " in message
               for message in messages), messages


@pytest.mark.parametrize("backend", ["reference", "torch", "tensorflow"])
def test_real_backends_pass_the_normalization_tests(real_run, backend):
    """Every normalization test passes (the batch of one is unsupported in torch alone), and none is left
    unsupported by a backend that has the layer."""
    pytest.importorskip({"reference": "numpy", "torch": "torch", "tensorflow": "keras"}[backend])
    cases = real_run(backend, KEYWORD)
    outcomes = {case["test"].split("[")[0].split("::")[-1]: case["outcome"] for case in cases}
    unsupported = {"test_batch_norm_batch_of_one_gives_bias"} if backend == "torch" else set()
    assert len(outcomes) == 6 and all(outcome == ("unsupported" if test in unsupported else "passed")
                                      for test, outcome in outcomes.items()), outcomes
