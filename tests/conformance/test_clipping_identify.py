"""The clipping fingerprint (conformance/gradient_clipping.identify): each built-in backend's clipping matches
exactly one combination of the conventions, and it is the one the backend declares (the spec's defaults where it
declares none). docs/spec/gradient-clipping.md#conventions
"""

from __future__ import annotations

import pytest

from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.conformance import gradient_clipping as room
from nnspec.reference.gradient_clipping import CONVENTIONS


@pytest.mark.parametrize("name", ["reference", "torch", "jax", "tensorflow"])
def test_clipping_fingerprint_is_the_declared_conventions(name):
    pytest.importorskip({"torch": "torch", "jax": "optax", "tensorflow": "keras"}.get(name, "numpy"))
    from nnspec.adapters import load_backend

    backend = load_backend(name)
    declared = backend.capabilities().conventions.get("gradient_clipping", {})
    assert room.identify(backend) == [{**{k: v[0] for k, v in CONVENTIONS.items()}, **declared}]


class _Following(ReferenceBackend):
    """The reference, computing under the conventions it is constructed with."""

    def __init__(self, conventions):
        super().__init__()
        self.conventions = conventions

    def clip_gradients(self, mode, grads, hyper, dtype):
        return super().clip_gradients(mode, grads, {**hyper, **self.conventions}, dtype)


@pytest.mark.parametrize("eps", CONVENTIONS["eps"])
@pytest.mark.parametrize("nonfinite", CONVENTIONS["nonfinite_global_norm"])
def test_the_probes_tell_every_pair_of_conventions_apart(eps, nonfinite):
    """The reference run under each combination is identified as that combination and no other."""
    conventions = {"eps": eps, "nonfinite_global_norm": nonfinite}
    assert room.identify(_Following(conventions)) == [conventions]
