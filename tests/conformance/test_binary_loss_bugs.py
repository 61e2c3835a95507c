"""A planted bug in a binary loss's option or in KL divergence (adapters/mutants_binary_losses.py) must fail the
`ci` run of the loss-option tests with a message naming the primitive, the dtype and the error/budget; the real
backends must pass those tests (docs/spec/losses.md#pos-weight, #kl-divergence, #last-axis).

Each case runs the real command line (`nnspec run`) in a subprocess, in float32.
"""

from __future__ import annotations

import pytest

MUTANTS = [
    # (class in nnspec.adapters.mutants_binary_losses, -k keyword, the tests it must fail, the primitive)
    ("TorchPosWeightOnNegativeTerm", "pos_weight",
     {"test_bce_with_logits_pos_weight_forward", "test_bce_with_logits_pos_weight_backward"},
     "binary_cross_entropy_with_logits"),
    ("TorchKlBatchmeanOverEveryElement", "loss_options and kl_divergence",
     {"test_kl_divergence_forward", "test_kl_divergence_backward"}, "kl_divergence"),
]


@pytest.mark.parametrize(("mutant", "keyword", "expected", "primitive"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_binary_loss_bug_fails_the_ci_run(failing_run, mutant, keyword, expected, primitive):
    """Exactly the tests of the option the bug is in fail, and the message names the cell: the primitive, the
    dtype, the error/budget, the params of the failing case (its pos_weight or its reduction) and the replay."""
    pytest.importorskip("torch")
    failed = failing_run("--backend", f"nnspec.adapters.mutants_binary_losses:{mutant}", "--dtype", "float32",
                         "--profile", "ci", "-k", keyword)
    assert {case["test"] for case in failed} == expected, [(c["test"], c["message"]) for c in failed]
    for case in failed:
        message = case["message"]
        for fragment in (f" float32 {primitive} ", "error/budget", "params: ", "replay this case: nnspec replay "):
            assert fragment in message, message
        assert ("'pos_weight': [" in message) if primitive != "kl_divergence" else ("'batchmean'" in message), message


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
def test_real_backends_pass_the_loss_option_tests(real_run, backend):
    """The real frameworks pass the loss-option tests at the `ci` profile in float32; each option a framework has
    is judged (passed), each it lacks is unsupported (docs/spec/losses.md)."""
    pytest.importorskip(backend)
    cases = real_run(backend, "loss_options")
    outcomes = {(case["test"], case["primitive"]): case["outcome"] for case in cases}
    judged = {test for (test, _), outcome in outcomes.items() if outcome == "passed"}
    has = {"torch": {"test_bce_with_logits_pos_weight_backward", "test_kl_divergence_backward",
                     "test_reduction_over_extra_dimensions"},
           "tensorflow": {"test_bce_with_logits_pos_weight_backward", "test_binary_label_smoothing_backward",
                          "test_kl_divergence_backward", "test_reduction_over_extra_dimensions"},
           "jax": {"test_kl_divergence_backward", "test_reduction_over_extra_dimensions"}}[backend]
    assert has <= judged, outcomes
    assert set(outcomes.values()) <= {"passed", "unsupported"}, outcomes
