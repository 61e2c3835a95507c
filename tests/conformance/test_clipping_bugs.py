"""Planted bugs in gradient clipping (adapters/mutants_clipping.py) must fail the `ci` run of the clipping tests,
in exactly the tests that can see them, with a message naming the cell; the real backends must pass those tests.

Each run is the real command line (`nnspec run`), in float64 (where PyTorch's eps = 1e-6 is far above rounding).
"""

from __future__ import annotations

import shlex

import pytest

pytest.importorskip("torch")

from nnspec.adapters import mutants_clipping  # noqa: E402  (needs torch)


@pytest.mark.parametrize("mutant", list(mutants_clipping.MUTANTS), ids=lambda m: m.__name__)
def test_planted_clipping_bug_fails_the_ci_run(tmp_path, failing_run, nnspec_here, mutant):
    """Exactly the tests that see the bug fail; the first failure names the cell and its replay reproduces it."""
    failed = failing_run("--backend", f"nnspec.adapters.mutants_clipping:{mutant.__name__}", "--dtype", "float64",
                         "--profile", "ci", "--no-shrink", "-k", "gradient_clipping")
    assert {case["test"] for case in failed} == set(mutants_clipping.MUTANTS[mutant]), [
        (c["test"], c["message"][:300]) for c in failed]
    message = failed[0]["message"]
    for fragment in (" float64 gradient_clipping ", "clipped grad", "error/budget", "replay this case: nnspec replay "):
        assert fragment in message, message
    replay = nnspec_here(*shlex.split(failed[0]["replay"])[1:], cwd=tmp_path)
    assert replay.returncode == 1 and "FAIL" in replay.stdout, replay.stdout + replay.stderr


@pytest.mark.parametrize("backend", ["torch", "jax", "tensorflow"])
def test_real_backends_pass_the_clipping_tests(real_run, backend):
    """Each framework passes (judged, not unsupported) every clipping test but the infinity norm, which only
    PyTorch has."""
    pytest.importorskip({"torch": "torch", "jax": "optax", "tensorflow": "keras"}[backend])
    cases = real_run(backend, "gradient_clipping")
    outcomes = {case["test"]: case["outcome"] for case in cases}
    unsupported = {"test_gradient_clipping_infinity_norm"} if backend != "torch" else set()
    assert {t for t, o in outcomes.items() if o != "passed"} == unsupported, outcomes
    assert len(outcomes) == 7, outcomes
