"""``normalization_checks.identify`` names the running-statistics conventions a backend computes, from one fixed
probe, without reading its declaration: PyTorch's momentum weights the new batch and averages the unbiased
variance, Keras's weights the old value and averages the biased one, and a planted bug is told apart from both.
"""

from __future__ import annotations

import pytest

from nnspec.adapters import load_backend
from nnspec.conformance import normalization_checks
from nnspec.reference import dtypes

TORCH = {"momentum_weights": "new", "running_variance": "unbiased"}
KERAS = {"momentum_weights": "old", "running_variance": "biased"}


@pytest.mark.parametrize(("backend", "module", "expected"), [
    ("reference", "numpy", TORCH),
    ("torch", "torch", TORCH),
    ("tensorflow", "keras", KERAS),
    ("nnspec.adapters.mutants_normalization:TorchRunningVarianceBiased", "torch",
     {"momentum_weights": "new", "running_variance": "biased"}),
])
def test_identify_names_exactly_one_variant(backend, module, expected):
    pytest.importorskip(module)
    assert normalization_checks.identify(load_backend(backend), dtypes.FORMATS["float32"]) == [expected]


@pytest.mark.parametrize(("backend", "module"), [("torch", "torch"), ("tensorflow", "keras")])
def test_the_declaration_is_what_identify_finds(backend, module):
    pytest.importorskip(module)
    loaded = load_backend(backend)
    declared = dict(loaded.capabilities().conventions[normalization_checks.FEATURE])
    assert normalization_checks.identify(loaded, dtypes.FORMATS["float32"]) == [declared]
