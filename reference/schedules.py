"""Learning-rate schedules: the rate the optimizer applies at update t = 0, 1, 2, ... (t counts the updates
already taken; the first update uses the value at t = 0), one closed form per schedule.

The frameworks differ in a few exact facts, declared as conventions (``CONVENTIONS``): whether a piecewise-constant
rate changes at its boundary step or one step after it (``switch``), what cosine annealing does after its last
step (``after_end``) and where the one-cycle phases end (``phase_ends``). The defaults are optax's
(docs/spec/schedules.md#conventions).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["CONVENTIONS", "SCHEDULES", "step_decay", "piecewise_constant", "exponential", "cosine", "warmup_cosine",
           "linear", "onecycle", "rates"]

#: convention keyword -> its named values, the default (optax's) first.
CONVENTIONS = {"switch": ("at_boundary", "after_boundary"), "after_end": ("hold", "periodic"),
               "phase_ends": ("boundary", "last_step")}


def _count(function: str, name: str, value: object, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{function}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _rate(function: str, name: str, value: object) -> float:
    return check.real_number(function, name, value, low=0.0, low_open=True)


def _fraction(function: str, name: str, value: object) -> float:
    return check.real_number(function, name, value, low=0.0, high=1.0)


def _decayed(lr: float, gamma: float, times: int) -> float:
    """lr * gamma ** times, rounded once; +inf where it overflows a float (gamma > 1 is growth, not an error)."""
    try:
        return lr * gamma ** times
    except OverflowError:
        return math.inf


def _anneal(start: float, end: float, fraction: float) -> float:
    """Half a cosine from ``start`` (fraction 0) to ``end`` (fraction 1)."""
    return end + (start - end) * (1.0 + math.cos(math.pi * fraction)) / 2.0


def step_decay(t: int, *, lr: float, gamma: float, step_size: int) -> float:
    """Step decay: the rate is multiplied by gamma every ``step_size`` updates.

    Spec: docs/spec/schedules.md#step-decay

    Math:
        rate(t) = lr * gamma ** floor(t / step_size)

    Example (the first decay is applied at update t = step_size):
        >>> [step_decay(t, lr=1.0, gamma=0.5, step_size=2) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    function = "schedules.step_decay"
    t, step_size = _count(function, "t", t, 0), _count(function, "step_size", step_size, 1)
    return _decayed(_rate(function, "lr", lr), _rate(function, "gamma", gamma), t // step_size)


def piecewise_constant(t: int, *, lr: float, gamma: float, milestones: Sequence[int],
                       switch: str = "at_boundary") -> float:
    """Multi-step decay: the rate is multiplied by gamma at each milestone.

    Spec: docs/spec/schedules.md#piecewise-constant

    Math:
        passed(m) = m <= t    (switch "at_boundary": PyTorch's MultiStepLR, optax's piecewise_constant_schedule)
        passed(m) = m < t     (switch "after_boundary": Keras's PiecewiseConstantDecay, one update later)
        rate(t) = lr * gamma ** (number of milestones m with passed(m))

    Raises:
        ValueError: for milestones that are not ints >= 1 in increasing order.

    Example (milestone 2: PyTorch and optax apply gamma from update 2 on, Keras from update 3 on):
        >>> [piecewise_constant(t, lr=1.0, gamma=0.5, milestones=[2]) for t in range(4)]
        [1.0, 1.0, 0.5, 0.5]
        >>> [piecewise_constant(t, lr=1.0, gamma=0.5, milestones=[2], switch="after_boundary") for t in range(4)]
        [1.0, 1.0, 1.0, 0.5]
    """
    function = "schedules.piecewise_constant"
    t = _count(function, "t", t, 0)
    milestones = [_count(function, "milestones[]", m, 1) for m in check.sequence(function, "milestones", milestones)]
    if any(a >= b for a, b in zip(milestones, milestones[1:])):
        raise ValueError(f"{function}: milestones must increase, got {milestones}")
    at = check.choice(function, "switch", switch, CONVENTIONS["switch"]) == "at_boundary"
    passed = sum(1 for m in milestones if (m <= t if at else m < t))
    return _decayed(_rate(function, "lr", lr), _rate(function, "gamma", gamma), passed)


def exponential(t: int, *, lr: float, gamma: float) -> float:
    """Exponential decay by gamma at every update.

    Spec: docs/spec/schedules.md#exponential

    Math:
        rate(t) = lr * gamma ** t

    Example:
        >>> [exponential(t, lr=2.0, gamma=0.5) for t in range(3)]
        [2.0, 1.0, 0.5]
    """
    function = "schedules.exponential"
    return _decayed(_rate(function, "lr", lr), _rate(function, "gamma", gamma), _count(function, "t", t, 0))


def cosine(t: int, *, lr: float, decay_steps: int, alpha: float = 0.0, after_end: str = "hold") -> float:
    """Cosine annealing from lr down to alpha * lr over ``decay_steps`` updates.

    Spec: docs/spec/schedules.md#cosine

    Math:
        final = alpha * lr
        s = min(t, decay_steps)    (after_end "hold": optax, Keras)
        s = t                      (after_end "periodic": PyTorch's CosineAnnealingLR, back to lr at 2 * decay_steps)
        rate(t) = final + (lr - final) * (1 + cos(pi * s / decay_steps)) / 2

    Example (the rate reaches final at t = decay_steps):
        >>> [cosine(t, lr=1.0, decay_steps=2) for t in range(4)]
        [1.0, 0.5, 0.0, 0.0]
    """
    function = "schedules.cosine"
    t, decay_steps = _count(function, "t", t, 0), _count(function, "decay_steps", decay_steps, 1)
    lr, alpha = _rate(function, "lr", lr), _fraction(function, "alpha", alpha)
    s = min(t, decay_steps) if check.choice(function, "after_end", after_end, CONVENTIONS["after_end"]) == "hold" else t
    return _anneal(lr, alpha * lr, s / decay_steps)


def warmup_cosine(t: int, *, lr: float, start_factor: float, warmup_steps: int, decay_steps: int, alpha: float = 0.0,
                  after_end: str = "hold") -> float:
    """Linear warmup from start_factor * lr to lr over ``warmup_steps`` updates, then ``cosine`` over
    ``decay_steps`` more (``decay_steps`` counts the updates after the warmup, as Keras's CosineDecay does).

    Spec: docs/spec/schedules.md#warmup-cosine

    Math:
        rate(t) = lr * (start_factor + (1 - start_factor) * t / warmup_steps)     for t < warmup_steps
        rate(t) = cosine(t - warmup_steps, lr, decay_steps, alpha, after_end)     for t >= warmup_steps

    Example (warmup 2 from 0.5, then half a cosine over 2 updates down to 0):
        >>> [warmup_cosine(t, lr=1.0, start_factor=0.5, warmup_steps=2, decay_steps=2) for t in range(5)]
        [0.5, 0.75, 1.0, 0.5, 0.0]
    """
    function = "schedules.warmup_cosine"
    t, warmup_steps = _count(function, "t", t, 0), _count(function, "warmup_steps", warmup_steps, 0)
    lr, start_factor = _rate(function, "lr", lr), _fraction(function, "start_factor", start_factor)
    if t < warmup_steps:
        return lr * (start_factor + (1.0 - start_factor) * t / warmup_steps)
    return cosine(t - warmup_steps, lr=lr, decay_steps=decay_steps, alpha=alpha, after_end=after_end)


def linear(t: int, *, lr: float, start_factor: float, end_factor: float, total_steps: int) -> float:
    """Linear change from start_factor * lr to end_factor * lr over ``total_steps`` updates, then constant: a
    warmup when start_factor < end_factor, a decay otherwise.

    Spec: docs/spec/schedules.md#linear

    Math:
        rate(t) = lr * (start_factor + (end_factor - start_factor) * min(t, total_steps) / total_steps)

    Example:
        >>> [linear(t, lr=1.0, start_factor=0.25, end_factor=1.0, total_steps=3) for t in range(5)]
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    function = "schedules.linear"
    t, total = _count(function, "t", t, 0), _count(function, "total_steps", total_steps, 1)
    start, end = _fraction(function, "start_factor", start_factor), _fraction(function, "end_factor", end_factor)
    return _rate(function, "lr", lr) * (start + (end - start) * min(t, total) / total)


def onecycle(t: int, *, lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
             final_div_factor: float = 1e4, phase_ends: str = "boundary") -> float:
    """One cycle (cosine): up from lr / div_factor to lr, then down to lr / div_factor / final_div_factor.

    Spec: docs/spec/schedules.md#onecycle

    Math:
        initial = lr / div_factor;  minimum = initial / final_div_factor
        anneal(a, b, f) = b + (a - b) * (1 + cos(pi * f)) / 2
        phase_ends "boundary" (optax): peak at b1 = floor(pct_start * total_steps), minimum at total_steps
            rate(t) = anneal(initial, lr, t / b1)                                  t < b1
            rate(t) = anneal(lr, minimum, (t - b1) / max(total_steps - b1, 1))     b1 <= t < total_steps
            rate(t) = minimum                                                      t >= total_steps
        phase_ends "last_step" (PyTorch): peak at e1 = pct_start * total_steps - 1, minimum at e2 = total_steps - 1
            rate(t) = anneal(initial, lr, t / e1)                                  t <= e1
            rate(t) = anneal(lr, minimum, (t - e1) / (e2 - e1))                    t > e1 (extrapolated beyond e2)

    Raises:
        ValueError: for "last_step" with e1 = 0 (0 / 0 at t = 0) or pct_start = 1 (e1 = e2), as PyTorch.

    Example (4 steps, peak at t = 2; PyTorch peaks one update earlier, at t = 1):
        >>> [onecycle(t, lr=1.0, total_steps=4, pct_start=0.5, div_factor=2.0, final_div_factor=2.0)
        ...  for t in range(5)]
        [0.5, 0.75, 1.0, 0.625, 0.25]
    """
    function = "schedules.onecycle"
    t, total = _count(function, "t", t, 0), _count(function, "total_steps", total_steps, 1)
    lr, pct = _rate(function, "lr", lr), _fraction(function, "pct_start", pct_start)
    initial = lr / _rate(function, "div_factor", div_factor)
    minimum = initial / _rate(function, "final_div_factor", final_div_factor)
    if check.choice(function, "phase_ends", phase_ends, CONVENTIONS["phase_ends"]) == "boundary":
        b1 = math.floor(pct * total)
        if t < b1:
            return _anneal(initial, lr, t / b1)
        return _anneal(lr, minimum, (t - b1) / max(total - b1, 1)) if t < total else minimum
    e1, e2 = pct * total - 1.0, total - 1.0
    if e1 == 0.0 or e1 >= e2:
        raise ValueError(f"{function}: phase_ends 'last_step' needs pct_start * total_steps != 1 and pct_start < 1, "
                         f"got pct_start={pct}, total_steps={total}")
    return _anneal(initial, lr, t / e1) if t <= e1 else _anneal(lr, minimum, (t - e1) / (e2 - e1))


SCHEDULES = {"step_decay": step_decay, "piecewise_constant": piecewise_constant, "exponential": exponential,
             "cosine": cosine, "warmup_cosine": warmup_cosine, "linear": linear, "onecycle": onecycle}
_TAKES = {"switch": ("piecewise_constant",), "after_end": ("cosine", "warmup_cosine"), "phase_ends": ("onecycle",)}


def rates(schedule: str, hyper: Mapping[str, object], steps: int, **conventions: str) -> np.ndarray:
    """The rates of the first ``steps`` updates (t = 0 .. steps - 1), float64; conventions a schedule does not
    take are ignored, so one framework's whole declaration can be passed.

    Spec: docs/spec/schedules.md#counting

    Math:
        rates[t] = SCHEDULES[schedule](t, **hyper, **its conventions)      t = 0 .. steps - 1

    Example:
        >>> rates("cosine", {"lr": 1.0, "decay_steps": 1}, 4, after_end="periodic").tolist()
        [1.0, 0.0, 1.0, 0.0]
    """
    function = "schedules.rates"
    check.choice(function, "schedule", schedule, tuple(SCHEDULES))
    hyper, steps = check.mapping(function, "hyper", hyper), _count(function, "steps", steps, 0)
    unknown = sorted(set(conventions) - set(CONVENTIONS))
    if unknown:
        raise ValueError(f"{function}: unknown convention(s) {', '.join(unknown)} (conventions: "
                         f"{', '.join(CONVENTIONS)})")
    taken = {k: v for k, v in conventions.items() if schedule in _TAKES[k]}
    return np.array([SCHEDULES[schedule](t, **hyper, **taken) for t in range(steps)], dtype=np.float64)
