"""A backend's declaration is checked when it loads (conformance/runconfig.py): an optimizer declaration the
catalogue's vocabularies do not accept, or a feature the catalogue does not name, is a usage error (exit 4, one
line) before the first test, never a run that checks something else than was declared.

Spec: docs/adapters.md#capabilities
"""

from __future__ import annotations

import importlib
from types import MappingProxyType

import pytest

from nnspec.adapters.base import OptimizerDeclaration
from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.conformance import runconfig
from nnspec.reference import catalogue
from nnspec.reference.optimizers import profiles


def _loaded(monkeypatch, optimizers=None, features=None):
    """runconfig.load of a reference backend that declares ``optimizers`` (and ``features``) instead."""

    class Declaring(ReferenceBackend):
        def capabilities(self):
            caps = super().capabilities()
            return type(caps)(caps.primitives, caps.dtypes, caps.devices, caps.conventions,
                              caps.features if features is None else frozenset(features),
                              caps.optimizers if optimizers is None else MappingProxyType(optimizers))

    monkeypatch.setattr(runconfig, "load_backend", lambda name, device, **options: Declaring(device))
    return runconfig.load(runconfig.RunConfig(backend="declaring"))


def _adam(**changes) -> OptimizerDeclaration:
    fields = {"conventions": profiles.conventions("pytorch", "adam"), **changes}
    return OptimizerDeclaration(**fields)


REFUSED = [
    ({"lamb": OptimizerDeclaration()}, "unknown optimizer 'lamb'"),
    ({"adam": {"eps_placement": "outside_sqrt"}}, "must be an nnspec.adapters.base.OptimizerDeclaration, got dict"),
    ({"adam": _adam(conventions={"eps_place": "outside_sqrt"})}, "optimizer adam: unknown convention 'eps_place'"),
    ({"adam": _adam(conventions={"eps_placement": "in_max"})}, "convention eps_placement must be one of"),
    ({"adamw": _adam(conventions={"weight_decay_mode": "coupled"})}, "optimizer adamw: unknown convention"),
    ({"adam": _adam(precision={"accumulator_dtype": "float32"})}, "unknown precision fact 'accumulator_dtype'"),
    ({"sgd": OptimizerDeclaration(precision={"moment_update": "incremental"})}, "moment_update does not apply"),
    ({"adam": _adam(precision={"scalar_dtype": "float32"})}, "scalar_dtype does not apply"),
    ({"nadam": OptimizerDeclaration(precision={"scalar_dtype": "float8"})}, "scalar_dtype must be a dtype"),
    ({"adam": _adam(precision={"dtype_arithmetic": ("schedule",)})}, "dtype_arithmetic must be a tuple of"),
    ({"adagrad": OptimizerDeclaration(precision={"float32_hyperparameters": ("momentum",)})},
     "float32_hyperparameters must be a tuple of"),
    ({"adam": _adam(precision={"float32_hyperparameters": ("betas",)})}, "must be a tuple of weight_decay, bias_corr"),
    ({"adam": _adam(precision={"moment_update": "fused"})}, "moment_update must be one of"),
    ({"adam": _adam(state_not_held=("mu_product",))}, "state_not_held names 'mu_product'"),
]


@pytest.mark.parametrize(("optimizers", "says"), REFUSED, ids=[says for _, says in REFUSED])
def test_a_declaration_outside_the_vocabulary_is_refused_at_load(monkeypatch, optimizers, says):
    with pytest.raises(runconfig.RunError, match="Capabilities.optimizers") as refused:
        _loaded(monkeypatch, optimizers)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_an_unknown_feature_is_refused_at_load(monkeypatch):
    with pytest.raises(runconfig.RunError, match=r"Capabilities.features names unknown features \['trainig_step'\]"):
        _loaded(monkeypatch, features={"network", "trainig_step"})


def test_a_hyperparameter_the_framework_fixes_is_a_convention(monkeypatch):
    """Keras's NAdam has no momentum_decay argument: its profile pins it, and that is accepted."""
    declared = {"nadam": OptimizerDeclaration(profiles.conventions("keras", "nadam"))}
    assert _loaded(monkeypatch, declared).capabilities().optimizers["nadam"].conventions["momentum_decay"] == 1.0


BUILT_IN = [("torch", "nnspec.adapters.torch.optimizers", "PYTORCH_DECLARATIONS"),
            ("optax", "nnspec.adapters.jax.optimizers", "JaxOptimizersMixin"),
            ("tensorflow", "nnspec.adapters.tensorflow.optimizers", "KERAS_DECLARATIONS")]


@pytest.mark.parametrize(("framework", "module", "table"), BUILT_IN, ids=[b[0] for b in BUILT_IN])
def test_the_built_in_declarations_pass(framework, module, table):
    pytest.importorskip(framework)
    declared = getattr(importlib.import_module(module), table)
    declared = getattr(declared, "OPTIMIZER_CONVENTIONS", declared)
    lacks = ("lion",) if framework == "torch" else ()  # torch.optim has no Lion
    assert tuple(declared) == tuple(name for name in catalogue.optimizers() if name not in lacks)
    for name, declaration in declared.items():
        declaration.validate(name, ("float64", "float32", "float16", "bfloat16"))


def test_the_report_keeps_one_object_per_optimizer():
    """``to_json`` is the report's shape (docs/report-schema.md): conventions, then precision facts, then
    ``state_not_held`` when there is any."""
    declaration = OptimizerDeclaration({"momentum_schedule": "constant"}, {"scalar_dtype": "float32"}, ("mu_product",))
    assert declaration.to_json() == {"momentum_schedule": "constant", "scalar_dtype": "float32",
                                     "state_not_held": ("mu_product",)}
    assert OptimizerDeclaration({"weight_decay_mode": "coupled"}).to_json() == {"weight_decay_mode": "coupled"}
