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
from nnspec.reference import dtypes

__all__ = ["identify", "every_fingerprint"]


def every_fingerprint(backend: Backend, dtype: str) -> list[Fingerprint]:
    """What `nnspec identify` prints: the optimizers (docs/spec/optimizers.md#identify), the learning-rate
    schedules (docs/spec/schedules.md#conventions), the cross-entropy's and the losses' last-axis conventions
    (docs/spec/losses.md), gradient clipping and BatchNorm's running statistics (``identify`` below).
    ``dtype`` is the command line's name: resolved here, once."""
    fmt = dtypes.get(dtype)
    return (optimizer_identify.identify(backend, fmt) + schedule_checks.identify(backend, fmt)
            + class_loss_conventions.identify(backend, fmt) + loss_identify.identify(backend, fmt)
            + identify(backend, fmt))


def identify(backend: Backend, fmt: dtypes.Format) -> list[Fingerprint]:
    """One fingerprint per feature: the convention combinations its probes match, against its declaration.
    Clipping's probes separate its conventions in float64 only, so they run in float64."""
    caps, found = backend.capabilities(), []
    for feature, module, probe in (("gradient_clipping", gradient_clipping, dtypes.FLOAT64),
                                   ("batch_norm_running_stats", normalization_checks, fmt)):
        if feature not in caps.features or not caps.declares_dtype(feature, probe.name):
            found.append(Fingerprint(feature, "unsupported", note=f"{feature} in {probe.name} not declared"))
            continue
        declared = dict(caps.conventions.get(feature, {})) or None
        found.append(Fingerprint.from_matches(feature, module.identify(backend, probe), declared))
    return found
