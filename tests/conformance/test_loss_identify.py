"""``nnspec identify`` names each loss's last-axis step from the backend's outputs, not its declaration
(conformance/loss_identify.py; docs/spec/losses.md#last-axis)."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest

from nnspec.adapters.base import Capabilities
from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.conformance import loss_identify
from nnspec.reference.losses import _reduction


class _UndeclaredPerSampleMean(ReferenceBackend):
    """Computes the per-sample mean for MSE but declares nothing: the declaration disagrees."""

    def forward(self, primitive, arrays, params, dtype):
        out = super().forward(primitive, arrays, params, dtype)
        if primitive == "mean_squared_error" and params.get("reduction") == "none":
            return _reduction.per_sample(np.asarray(out), "mean")
        return out


class _PerSampleMean(_UndeclaredPerSampleMean):
    """Computes Keras's per-sample mean over the last axis for MSE, and declares it."""

    def capabilities(self) -> Capabilities:
        caps = super().capabilities()
        return Capabilities(**{**caps.__dict__, "conventions": MappingProxyType(
            {**caps.conventions, "mean_squared_error": {"last_axis": "mean"}})})


def _by_loss(backend):
    return {f.optimizer: f for f in loss_identify.identify(backend)}


def test_the_reference_is_identified_as_no_last_axis_step():
    found = _by_loss(ReferenceBackend())
    assert set(found) == set(loss_identify.PROBES)
    assert all(f.status == "identified" and f.matches == [{"last_axis": None}] and f.agrees for f in found.values())


@pytest.mark.parametrize(("backend", "agrees"), [(_PerSampleMean(), True), (_UndeclaredPerSampleMean(), False)])
def test_a_per_sample_mean_is_identified_whatever_is_declared(backend, agrees):
    mse = _by_loss(backend)["mean_squared_error"]
    assert (mse.status, mse.matches, mse.agrees) == ("identified", [{"last_axis": "mean"}], agrees)
