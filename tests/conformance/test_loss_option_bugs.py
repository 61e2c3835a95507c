"""The planted bugs of the cross-entropy's options (adapters/mutants_loss_options.py) must fail the `ci` run of
the option tests (conformance/test_class_losses.py), with a message naming the cell; the real backends must pass
that run, each option judged where declared and reported unsupported where not.

Each case runs the real command line (`nnspec run`) in a subprocess, in float64.
"""

from __future__ import annotations

import re

import pytest

KEYWORD = "class_loss or nll_loss or smoothing_skips"
IGNORE, WEIGHTED, SMOOTHED = ("test_class_loss_ignore_index_matches_reference",
                              "test_class_loss_weighted_mean_of_kept_matches_reference",
                              "test_softmax_cross_entropy_smoothing_skips_ignored_rows")
REMOVED = "test_class_loss_ignored_rows_removed_keep_loss"
MUTANTS = [
    # (class in nnspec.adapters.mutants_loss_options, the tests it must fail)
    ("TorchIgnoredRowsInMean", {IGNORE, WEIGHTED, SMOOTHED, REMOVED}),
    ("TorchSmoothingOverIgnoredRows", {SMOOTHED}),  # right without smoothing: only pytorch#73205's test sees it
]


@pytest.mark.parametrize(("mutant", "expected"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_loss_option_bug_fails_the_ci_run(failing_run, mutant, expected):
    """Exactly the tests that combine ignore_index with what the mutant gets wrong fail; the message names the
    backend, dtype, primitive and property, the error/budget and the replay command."""
    pytest.importorskip("torch")
    failed = failing_run("--backend", f"nnspec.adapters.mutants_loss_options:{mutant}", "--dtype", "float64",
                         "--profile", "ci", "--no-shrink", "-k", KEYWORD)
    assert {case["test"] for case in failed} == expected, [(c["test"], c["message"][:200]) for c in failed]
    message = next(case for case in failed if case["test"] == SMOOTHED)["message"]
    for fragment in (" float64 softmax_cross_entropy smoothing with ignore_index ", "ignore_index",
                     "error/budget", "replay this case: nnspec replay "):
        assert fragment in message, message


#: per framework, the tests reported unsupported (an option or a primitive it lacks): a test, "[a parameter]" of
#: any test, or "test[a parameter]"; every other test passes
UNSUPPORTED = {
    "torch": set(),
    "jax": {"[nll_loss]", "test_nll_loss_matches_reference", "test_class_loss_weights_match_reference", WEIGHTED,
            f"{SMOOTHED}[weighted]"},
    "tensorflow": {"[nll_loss]", "test_nll_loss_matches_reference", SMOOTHED,
                   "test_class_loss_weights_match_reference[softmax_cross_entropy_probs]"},
}


def _expected(case: dict, backend: str) -> str:
    """"unsupported" where UNSUPPORTED names the test, or the test and one of its parameters."""
    params = case["id"].split("[", 1)[1].rstrip("]").split("-")
    names = {case["test"]} | {f"{test}[{param}]" for param in params for test in (case["test"], "")}
    return "unsupported" if names & UNSUPPORTED[backend] else "passed"


@pytest.mark.parametrize("backend", ["torch", "jax", "tensorflow"])
def test_real_backends_pass_the_option_checks(real_run, backend):
    """torch declares every option; optax has no class weights and no NLL; Keras no NLL, no ignore_class with
    label smoothing and no class weights of probability targets."""
    pytest.importorskip(backend)
    cases = real_run(backend, KEYWORD)
    assert {case["id"]: case["outcome"] for case in cases} == {case["id"]: _expected(case, backend) for case in cases}


@pytest.mark.parametrize(("options", "says"), [
    ({"softmax_cross_entropy": frozenset({"weights"})}, "Capabilities.options['softmax_cross_entropy'] names "
                                                        "unknown options ['weights']"),
    ({"relu": frozenset({"spatial"})}, "the catalogue's: none"),
])
def test_an_option_the_catalogue_does_not_name_stops_the_run(monkeypatch, options, says):
    """A misspelt option would otherwise leave its tests unsupported without a word (docs/adapters.md)."""
    import dataclasses

    from nnspec.adapters.reference_backend import ReferenceBackend
    from nnspec.conformance import runconfig

    class Declaring(ReferenceBackend):
        def capabilities(self):
            return dataclasses.replace(super().capabilities(), options=options)

    monkeypatch.setattr(runconfig, "load_backend", lambda name, device, **kwargs: Declaring(device))
    with pytest.raises(runconfig.RunError, match=re.escape(says)):
        runconfig.load(runconfig.RunConfig(backend="declaring"))


def test_identify_names_the_cross_entropy_conventions_torch_computes():
    """`nnspec identify` finds PyTorch's divisor and smoothing weight on the room's probes, whatever is declared:
    a torch backend declaring Keras's conventions is told that it disagrees."""
    pytest.importorskip("torch")
    from types import MappingProxyType

    from nnspec.adapters.torch.backend import TorchBackend
    from nnspec.conformance import class_loss_conventions

    class DeclaresKeras(TorchBackend):
        def capabilities(self):
            caps = super().capabilities()
            keras = {"mean_divisor": "kept_count", "smoothing_weight": "per_example"}
            return type(caps)(**{**caps.__dict__, "conventions": MappingProxyType(
                {**caps.conventions, "softmax_cross_entropy": keras})})

    right = {f.optimizer: (f.status, f.matches, f.agrees) for f in class_loss_conventions.identify(TorchBackend())}
    assert right == {"softmax_cross_entropy mean_divisor": ("identified", [{"mean_divisor": "weight_sum"}], True),
                     "softmax_cross_entropy smoothing_weight": ("identified", [{"smoothing_weight": "per_class"}],
                                                                True)}
    assert [f.agrees for f in class_loss_conventions.identify(DeclaresKeras())] == [False, False]
