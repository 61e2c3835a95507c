"""`nnspec identify` for the features with conventions probed by their own rooms: gradient clipping (the eps in
the scale, non-finite norms; docs/spec/gradient-clipping.md) and BatchNorm's running statistics (which batch the
momentum weights, the running variance's estimate; docs/spec/normalization.md#running-statistics).

Spec: docs/spec/optimizers.md#identify
"""

from __future__ import annotations

from nnspec.adapters.base import Backend
from nnspec.conformance import (
    class_loss_conventions,
    gradient_clipping,
    loss_identify,
    normalization_checks,
    schedule_checks,
)
from nnspec.conformance import identify as optimizer_identify
from nnspec.conformance.identify import Fingerprint

__all__ = ["identify", "every_fingerprint"]


def every_fingerprint(backend: Backend, dtype: str) -> list[Fingerprint]:
    """What `nnspec identify` prints: the optimizers (docs/spec/optimizers.md#identify), the learning-rate
    schedules (docs/spec/schedules.md#conventions), the cross-entropy's and the losses' last-axis conventions
    (docs/spec/losses.md), gradient clipping and BatchNorm's running statistics (``identify`` below)."""
    return (optimizer_identify.identify(backend, dtype=dtype) + schedule_checks.identify(backend, dtype)
            + class_loss_conventions.identify(backend, dtype) + loss_identify.identify(backend, dtype)
            + identify(backend, dtype))


def identify(backend: Backend, dtype: str) -> list[Fingerprint]:
    """One fingerprint per feature: the convention combinations its probes match, against its declaration.
    Clipping's probes separate its conventions in float64 only, so they run in float64."""
    caps, found = backend.capabilities(), []
    for feature, module, probe_dtype in (("gradient_clipping", gradient_clipping, "float64"),
                                         ("batch_norm_running_stats", normalization_checks, dtype)):
        if feature not in caps.features or not caps.declares_dtype(feature, probe_dtype):
            found.append(Fingerprint(feature, "unsupported", note=f"{feature} in {probe_dtype} not declared"))
            continue
        declared = dict(caps.conventions.get(feature, {})) or None
        found.append(Fingerprint.from_matches(feature, module.identify(backend, probe_dtype), declared))
    return found
