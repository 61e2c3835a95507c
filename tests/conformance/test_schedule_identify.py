"""`nnspec identify` for the learning-rate schedules (conformance/schedule_checks.identify): the probes of the
schedules room find each framework's conventions by running its scheduler, confirm the declarations, and match
no convention at all for a scheduler stepped before the optimizer.

Spec: docs/spec/schedules.md#conventions
"""

from __future__ import annotations

import pytest

from nnspec.adapters import load_backend
from nnspec.conformance import schedule_checks

# backend, the module it needs, the values it must be found to follow (None: the framework lacks the schedule)
FRAMEWORKS = [
    ("reference", "numpy", {"switch": "at_boundary", "after_end": "hold", "phase_ends": "boundary"}),
    ("torch", "torch", {"switch": "at_boundary", "after_end": "periodic", "phase_ends": "last_step"}),
    ("jax", "optax", {"switch": "at_boundary", "after_end": "hold", "phase_ends": "boundary"}),
    ("tensorflow", "keras", {"switch": "after_boundary", "after_end": "hold", "phase_ends": None}),
]


@pytest.mark.parametrize(("backend", "module", "expected"), FRAMEWORKS, ids=[f[0] for f in FRAMEWORKS])
def test_identify_finds_each_frameworks_schedule_conventions(backend, module, expected):
    pytest.importorskip(module)
    found = {f.optimizer.removeprefix("lr_schedule "): f for f in schedule_checks.identify(load_backend(backend))}
    assert set(found) == set(expected)
    for convention, value in expected.items():
        fingerprint = found[convention]
        if value is None:
            assert fingerprint.status == "unsupported", fingerprint
            continue
        assert fingerprint.status == "identified" and fingerprint.matches == [{convention: value}], fingerprint
        assert fingerprint.agrees, fingerprint


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # the mutant's own order
def test_identify_matches_nothing_for_a_scheduler_stepped_first():
    pytest.importorskip("torch")
    mutant = load_backend("nnspec.adapters.mutants_schedules:TorchSchedulerSteppedFirst")
    fingerprints = schedule_checks.identify(mutant)
    assert all(f.status == "no match" and f.agrees is False for f in fingerprints), fingerprints
