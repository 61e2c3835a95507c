"""`nnspec identify` (conformance/identify.py): it finds each framework's documented conventions by running them,
confirms the declarations (precision facts included), and refutes a wrong one.

Spec: docs/spec/optimizers.md#identify
"""

from __future__ import annotations

import pytest

from nnspec.adapters import load_backend
from nnspec.conformance import identify
from nnspec.reference import catalogue, dtypes
from nnspec.reference.optimizers import profiles

# The framework each backend wraps, and the profile (docs/spec/optimizers.md) it must be found to follow. JAX's
# SGD and AdamW are "ambiguous" by design: optax lacks the features (dampening, AdamW's AMSGrad) whose probes
# would tell its variants apart, and the variants left agree on what optax can do.
FRAMEWORKS = [("torch", "torch", "pytorch", ()), ("jax", "optax", "optax", ("sgd", "adamw")),
              ("tensorflow", "keras", "keras", ())]


@pytest.mark.parametrize(("backend", "module", "profile", "ambiguous"), FRAMEWORKS, ids=[f[0] for f in FRAMEWORKS])
def test_identify_finds_the_frameworks_profile_and_confirms_its_declaration(backend, module, profile, ambiguous):
    pytest.importorskip(module)
    found = {f.optimizer: f for f in identify.identify(load_backend(backend))}
    assert tuple(found) == catalogue.optimizers()
    for name, fingerprint in found.items():
        if name not in profiles.PROFILES[profile]:  # an optimizer the framework lacks (PyTorch: Lion)
            assert fingerprint.status == "unsupported", (name, fingerprint)
            continue
        expected = "ambiguous" if name in ambiguous else "identified"
        assert fingerprint.status == expected, (name, fingerprint)
        assert profile in fingerprint.profiles and fingerprint.agrees, (name, fingerprint)


def test_identify_refutes_a_wrong_declaration():
    """The planted Adagrad with eps inside the root still declares PyTorch's outside placement."""
    pytest.importorskip("torch")
    (fingerprint,) = identify.identify(load_backend("nnspec.adapters.mutants:AdagradEpsInsideSqrt"),
                                       optimizers=("adagrad",))
    assert fingerprint.status == "identified" and fingerprint.agrees is False, fingerprint
    assert [m["eps_placement"] for m in fingerprint.matches] == ["inside_sqrt"], fingerprint


def test_identify_confirms_every_declaration_of_the_reference():
    """The reference computes what it declares, for every optimizer, those PyTorch lacks (Lion) included: its
    declaration is its own defaults there, not an empty one that `identify` reads as a disagreement."""
    for fingerprint in identify.identify(load_backend("reference")):
        assert fingerprint.status in ("identified", "ambiguous") and fingerprint.agrees, fingerprint


@pytest.mark.parametrize(("backend", "agrees"), [
    ("torch", {"gradient_clipping": True, "batch_norm_running_stats": True}),
    ("nnspec.adapters.mutants_normalization:TorchRunningVarianceBiased",
     {"gradient_clipping": True, "batch_norm_running_stats": False}),
])
def test_identify_names_the_clipping_and_running_statistics_conventions(backend, agrees):
    """`nnspec identify` also fingerprints gradient clipping (eps, non-finite norms) and BatchNorm's running
    statistics; a torch whose running variance is the biased one still declares torch's conventions: refuted."""
    pytest.importorskip("torch")
    from nnspec.conformance import feature_identify
    from nnspec.conformance.guard import GuardedBackend

    backend = GuardedBackend(load_backend(backend))
    found = {f.optimizer: f for f in feature_identify.identify(backend, dtypes.FORMATS["float32"])}
    assert {name: f.agrees for name, f in found.items()} == agrees, found
