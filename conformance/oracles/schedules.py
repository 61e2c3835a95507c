"""The learning-rate schedules written a second time, in mpmath at 50 digits, from docs/spec/schedules.md (never
importing ``nnspec.reference``): the oracle of the reference's self-test (tests/reference/test_schedules.py).

Each schedule is written in the form its spec section gives, with the frameworks' two conventions: the cosine
after its end (``hold`` or ``periodic``), the step a piecewise-constant rate changes at (``at_boundary`` or
``after_boundary``) and where the one-cycle phases end (``boundary`` or ``last_step``).
"""

from __future__ import annotations

from collections.abc import Mapping

import mpmath

__all__ = ["rate", "rates"]

_DPS = 50


def _half_cosine(high, low, fraction):
    """From high at fraction 0 to low at fraction 1 along (1 + cos(pi fraction)) / 2."""
    return low + (high - low) * (1 + mpmath.cos(mpmath.pi * fraction)) / 2


def _cosine(t: int, h: Mapping[str, object], after_end: str):
    lr, decay = mpmath.mpf(h["lr"]), int(h["decay_steps"])
    low = mpmath.mpf(h.get("alpha", 0.0)) * lr
    s = t if after_end == "periodic" else min(t, decay)
    return _half_cosine(lr, low, mpmath.mpf(s) / decay)


def _onecycle(t: int, h: Mapping[str, object], phase_ends: str):
    peak, total, pct = mpmath.mpf(h["lr"]), int(h["total_steps"]), mpmath.mpf(h.get("pct_start", 0.3))
    start = peak / mpmath.mpf(h.get("div_factor", 25.0))
    floor_rate = start / mpmath.mpf(h.get("final_div_factor", 1e4))
    if phase_ends == "last_step":
        up_end, down_end = pct * total - 1, mpmath.mpf(total - 1)
        if t <= up_end:
            return _half_cosine(peak, start, 1 - t / up_end)  # the rising half written from its far end
        return _half_cosine(peak, floor_rate, (t - up_end) / (down_end - up_end))
    up_end = int(mpmath.floor(pct * total))
    if t < up_end:
        return _half_cosine(peak, start, 1 - mpmath.mpf(t) / up_end)
    if t >= total:
        return floor_rate
    return _half_cosine(peak, floor_rate, mpmath.mpf(t - up_end) / max(total - up_end, 1))


def rate(schedule: str, t: int, h: Mapping[str, object], *, switch: str = "at_boundary", after_end: str = "hold",
         phase_ends: str = "boundary") -> mpmath.mpf:
    """The rate at update t (0-based) at 50 digits."""
    with mpmath.workdps(_DPS):
        lr = mpmath.mpf(h["lr"])
        if schedule == "step_decay":
            return lr * mpmath.mpf(h["gamma"]) ** (t // int(h["step_size"]))
        if schedule == "piecewise_constant":
            late = switch == "after_boundary"
            return lr * mpmath.mpf(h["gamma"]) ** len([m for m in h["milestones"] if t > m or (t == m and not late)])
        if schedule == "exponential":
            return lr * mpmath.power(mpmath.mpf(h["gamma"]), t)
        if schedule == "linear":
            total = int(h["total_steps"])
            start, end = mpmath.mpf(h["start_factor"]), mpmath.mpf(h["end_factor"])
            return lr * (start * (total - min(t, total)) + end * min(t, total)) / total  # weights of the two ends
        if schedule == "cosine":
            return _cosine(t, h, after_end)
        if schedule == "warmup_cosine":
            warmup = int(h["warmup_steps"])
            if t < warmup:
                start = mpmath.mpf(h["start_factor"]) * lr
                return start + (lr - start) * mpmath.mpf(t) / warmup
            return _cosine(t - warmup, h, after_end)
        if schedule == "onecycle":
            return _onecycle(t, h, phase_ends)
    raise ValueError(f"oracles.schedules.rate: unknown schedule {schedule!r}")


def rates(schedule: str, h: Mapping[str, object], steps: int, **conventions: str) -> list[mpmath.mpf]:
    """The rates of updates 0 .. steps - 1."""
    return [rate(schedule, t, h, **conventions) for t in range(steps)]
