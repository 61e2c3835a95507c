"""The learning-rate schedule check: the rates a backend's optimizer applied under its scheduler, step by step,
against the reference's closed forms with the backend's declared conventions, within the schedules room's budget.

Spec: docs/spec/schedules.md
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.adapters.base import Backend, UnsupportedError
from nnspec.conformance import schedules as room
from nnspec.conformance.comparison import Comparison, compare
from nnspec.conformance.identify import Fingerprint
from nnspec.reference import dtypes, schedules

__all__ = ["declaration", "rates", "identify", "run_case"]


def declaration(backend: Backend) -> dict[str, object]:
    """The backend's ``conventions["lr_schedule"]``: the reference's conventions and the room's precision facts.

    Raises:
        ValueError: for a key that is neither, or a convention value the reference does not name.
    """
    declared = dict(backend.capabilities().conventions.get("lr_schedule", {}))
    for key, value in declared.items():
        if key in room.PRECISION_FACTS:
            continue
        if key not in schedules.CONVENTIONS:
            raise ValueError(f"lr_schedule: unknown convention {key!r} (conventions: "
                             f"{', '.join(schedules.CONVENTIONS)}; precision facts: {', '.join(room.PRECISION_FACTS)})")
        if value not in schedules.CONVENTIONS[key]:
            raise ValueError(f"lr_schedule: convention {key} must be one of "
                             f"{', '.join(schedules.CONVENTIONS[key])}, got {value!r}")
    return declared


def rates(backend: Backend, schedule: str, hyper: Mapping[str, object], steps: int,
          fmt: dtypes.Format) -> dict[str, Comparison]:
    """The applied rate of every update t = 0 .. steps - 1 in ``fmt`` (one comparison; its worst element names
    the step)."""
    declared = declaration(backend)
    conventions = {k: v for k, v in declared.items() if k in schedules.CONVENTIONS}
    observed = np.asarray(backend.lr_schedule(schedule, dict(hyper), steps, fmt.name))
    expected = schedules.rates(schedule, hyper, steps, **conventions)
    budget = room.budget(schedule, hyper, expected, fmt, declared)
    return {f"{schedule} rate at update t (index = t)": compare(observed, expected, budget)}


def _fingerprint(backend: Backend, convention: str, fmt: dtypes.Format, declared: dict[str, object]) -> Fingerprint:
    schedule, hyper, steps = room.PROBES[convention]
    label = f"lr_schedule {convention}"
    stated = {convention: declared.get(convention, schedules.CONVENTIONS[convention][0])}  # none declared: default
    if f"schedule_{schedule}" not in backend.capabilities().features:
        return Fingerprint(label, "unsupported", note=f"{backend.name} does not declare schedule_{schedule}")
    try:
        observed = np.asarray(backend.lr_schedule(schedule, hyper, steps, fmt.name))
    except UnsupportedError as error:
        return Fingerprint(label, "unsupported", note=str(error))
    facts = {k: v for k, v in declared.items() if k in room.PRECISION_FACTS}
    ratios = []
    for value in schedules.CONVENTIONS[convention]:
        expected = schedules.rates(schedule, hyper, steps, **{convention: value})
        budget = room.budget(schedule, hyper, expected, fmt, {**facts, convention: value})
        ratios.append((compare(observed, expected, budget).ratio, {convention: value}))
    return Fingerprint.from_ratios(label, ratios, stated)


def identify(backend: Backend, fmt: dtypes.Format = dtypes.FORMATS["float32"]) -> list[Fingerprint]:
    """Which value of each schedule convention the backend's rates follow, on the room's ``PROBES`` (one
    fingerprint per convention, as ``nnspec identify`` prints them for the optimizers)."""
    declared = declaration(backend)
    return [_fingerprint(backend, convention, fmt, declared) for convention in schedules.CONVENTIONS]


def run_case(backend: Backend, case: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded schedule case (kind ``schedule_rates``) against ``backend``."""
    if case["kind"] != "schedule_rates":
        raise ValueError(f"schedule_checks.run_case: unknown case kind {case['kind']!r}")
    params = case["params"]
    return rates(backend, params["schedule"], params["hyper"], params["steps"], fmt)
