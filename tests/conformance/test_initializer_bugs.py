"""Planted initializer bugs (adapters/mutants_initializers.py) must fail the `ci` run of the initializer tests
with a message naming the cell; the real backends must pass those tests. Each case runs the real command line
(`nnspec run`) in a subprocess, in float32.
"""

from __future__ import annotations

import pytest

MUTANT = "nnspec.adapters.mutants_initializers:"


def test_he_normal_with_the_wrong_fan_fails_the_initializer_run(failing_run):
    """He normal drawn into the untransposed (in, out) tensor scales by fan_out: the variance and the CDF of
    he_normal fail (the mean of a symmetric law stays 0, the support of a normal is unbounded)."""
    pytest.importorskip("torch")
    failed = failing_run("--backend", f"{MUTANT}TorchWeightNotTransposed", "--dtype", "float32", "--profile", "ci",
                         "--no-shrink", "-k", "initializer and he_normal")
    tests = {case["test"] for case in failed}
    assert {"test_initializer_variance_matches_the_law", "test_initializer_cdf_matches_the_law"} <= tests, tests
    assert tests <= {"test_initializer_variance_matches_the_law", "test_initializer_cdf_matches_the_law",
                     "test_initializer_mean_matches_the_law"}, tests
    message = next(c["message"] for c in failed if c["test"] == "test_initializer_variance_matches_the_law")
    for fragment in (" float32 he_normal ", "variance of the weights", "error/budget", "nnspec replay "):
        assert fragment in message, message


def test_torch_linear_bias_bound_sqrt6_fails_the_dense_default_run(failing_run):
    """nn.Linear's bias drawn from U(+-sqrt(6 / fan_in)) leaves the support U(+-1 / sqrt(fan_in)) at once."""
    pytest.importorskip("torch")
    failed = failing_run("--backend", f"{MUTANT}TorchLinearBiasBoundSqrt6", "--dtype", "float32", "--profile", "ci",
                         "--no-shrink", "-k", "dense_default_init")
    tests = {case["test"] for case in failed}
    assert "test_dense_default_init_lies_in_the_support" in tests, tests
    message = next(c["message"] for c in failed if c["test"] == "test_dense_default_init_lies_in_the_support")
    for fragment in (" float32 dense_default_init ", "support of the bias", "error/budget"):
        assert fragment in message, message


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
def test_real_backends_pass_the_initializer_checks(real_run, backend):
    """torch, Keras and JAX pass every initializer test they declare at the `ci` profile, judged (not all
    unsupported): torch lacks variance_scaling, JAX a fresh dense layer."""
    pytest.importorskip({"jax": "optax"}.get(backend, backend))
    cases = real_run(backend, "initializer or dense_default_init")
    passed = {case["primitive"] for case in cases if case["outcome"] == "passed"}
    assert {"glorot_uniform", "he_normal", "truncated_normal"} <= passed, passed
    assert ("dense_default_init" in passed) == (backend != "jax"), passed


@pytest.mark.parametrize("case", [
    {"kind": "initializer_variance", "params": {"initializer": "he_normal", "hyper": {"mode": "fan_out"},
                                                "shape": [100, 300], "seed": 3}},
    {"kind": "initializer_independent_seeds", "params": {"initializer": "truncated_normal", "hyper": {
        "mean": 0.0, "std": 1.0, "a": 0.0, "b": 2.0}, "shape": [256, 32], "seed": 5}},
    {"kind": "initializer_default_support", "params": {"fan_in": 16, "fan_out": 64, "seed": 1}},
], ids=["variance", "independent_seeds", "default_support"])
def test_recorded_initializer_cases_replay(case):
    """`nnspec replay` routes the initializer kinds to initializer_checks.run_case (conformance/checks.py)."""
    from nnspec.adapters.reference_backend import ReferenceBackend
    from nnspec.conformance import checks

    comparisons = checks.run_case(ReferenceBackend(), {**case, "dtype": "float32", "arrays": {}})
    assert comparisons and all(c.ok for c in comparisons.values()), comparisons
