"""TensorFlow's float64 framework facts are declared, not excused: a small float64 error next to them is caught.

TensorFlow's float64 GELU uses float32-rounded constants, its LeakyRelu a float32-rounded slope, Keras's optimizers
float32-rounded hyperparameters, and Keras's EarlyStopping lets an improving epoch postpone stopping. Each used
to be a known issue excusing every float64 element or case it touched; each is now a declared convention or
precision fact that the reference and the budgets follow exactly (docs/spec/activations.md#gelu-float32-constants,
docs/spec/optimizers.md#precision, docs/spec/early-stopping.md#improvement-postpones). So:

- a planted float64 error of 1e-6 (Adam), 1e-7 (NAdam) or 1e-9 (GELU) fails the real command line at the ci
  profile (adapters/mutants_precision.py), and the real TensorFlow passes the same tests;
- each declaration is needed: the same backend without it fails.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from nnspec.adapters.base import Capabilities  # noqa: E402
from nnspec.adapters.tensorflow.backend import TensorFlowBackend  # noqa: E402
from nnspec.conformance import checks, optimizer_checks, training_checks  # noqa: E402
from nnspec.conformance.strategies.optimizers import discriminating_cases  # noqa: E402
from nnspec.reference import dtypes  # noqa: E402

MUTANTS = [
    # (class in nnspec.adapters.mutants_precision, -k expression, primitive)
    ("KerasAdamLrOffInFloat64", "test_optimizer_every_term and -adam]", "adam"),
    ("KerasNadamLrOffInFloat64", "test_optimizer_every_term and -nadam]", "nadam"),
    ("TfGeluOffInFloat64", "test_elementwise_forward_matches_reference and -gelu]", "gelu"),
]


@pytest.mark.parametrize(("mutant", "keyword", "primitive"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_float64_error_fails(failing_run, mutant, keyword, primitive):
    failed = failing_run("--backend", f"nnspec.adapters.mutants_precision:{mutant}", "--dtype", "float64",
                         "--profile", "ci", "-k", keyword)
    case = failed[0]
    assert (case["primitive"], case["dtype"]) == (primitive, "float64"), case
    assert "error/budget" in case["message"] and not case.get("known_issues"), case


def test_real_tensorflow_passes_the_same_tests(nnspec_cli, tmp_path):
    keyword = " or ".join(f"({keyword})" for _, keyword, _ in MUTANTS)
    done = nnspec_cli("run", "--backend", "tensorflow", "--dtype", "float64", "--profile", "ci", "-k", keyword,
                      "--jobs", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


class _Undeclared(TensorFlowBackend):
    """The real TensorFlow backend with one declaration taken away."""

    def __init__(self, primitive: str = "", optimizer: str = "") -> None:
        super().__init__()
        self._primitive, self._optimizer = primitive, optimizer

    def capabilities(self) -> Capabilities:
        caps = super().capabilities()
        conventions = {k: v for k, v in caps.conventions.items() if k != self._primitive}
        optimizers = dict(caps.optimizers)
        if self._optimizer:
            declared = optimizers[self._optimizer]
            optimizers[self._optimizer] = dataclasses.replace(declared, precision={
                k: v for k, v in declared.precision.items() if k != "float32_hyperparameters"})
        return Capabilities(caps.primitives, caps.dtypes, caps.devices, MappingProxyType(conventions), caps.features,
                            MappingProxyType(optimizers))


def _worst(comparisons) -> float:
    return max(c.ratio for c in comparisons.values())


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamax", "nadam"])
def test_float32_hyperparameters_are_needed_in_float64(optimizer):
    cases = [case for case in discriminating_cases(optimizer, dtypes.FLOAT64)
             if any(case[0].get(name) for name in ("betas", "momentum", "weight_decay"))]
    declared = max(_worst(optimizer_checks.steps(TensorFlowBackend(), optimizer, *case, dtypes.FLOAT64))
                   for case in cases)
    undeclared = max(_worst(optimizer_checks.steps(_Undeclared(optimizer=optimizer), optimizer, *case, dtypes.FLOAT64))
                     for case in cases)
    assert declared <= 1.0 < undeclared, (declared, undeclared)


@pytest.mark.parametrize(("primitive", "params", "x"), [
    ("gelu", {}, np.array([-3.0, -1.0, 0.5, 1.0, 3.0])),
    ("gelu_tanh", {}, np.array([-3.0, -1.0, 0.5, 1.0, 3.0])),
    ("leaky_relu", {"negative_slope": 0.1}, np.array([-3.0, -1.0, -0.5])),
])
def test_float32_constants_are_needed_in_float64(primitive, params, x):
    arrays = {"x": x}
    assert checks.forward(TensorFlowBackend(), primitive, arrays, params, dtypes.FLOAT64).ratio <= 1.0
    assert checks.forward(_Undeclared(primitive=primitive), primitive, arrays, params, dtypes.FLOAT64).ratio > 1.0


def test_improvement_postpones_is_needed():
    values, rules = [0.9, 0.8, 0.7, 0.6], {"baseline": 0.5, "patience": 2, "restore_best_weights": True}
    assert _worst(training_checks.early_stopping_run(TensorFlowBackend(), values, rules)) == 0.0
    assert _worst(training_checks.early_stopping_run(_Undeclared(primitive="early_stopping"), values, rules)) > 0
