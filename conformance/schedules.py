"""The room of the learning-rate schedules (``nnspec.reference.schedules``): the per-step error budget of the rate
a framework applies, from the error model (docs/spec/schedules.md#budget).

A rate is computed in the framework's rate dtype (unit roundoff ``u``) and then rounded into the parameter's dtype
by the update ``0 - rate * 1`` (one rounding: ``u_param * |rate|``). The rate's own error:

- closed forms (optax, Keras, PyTorch's OneCycleLR) are a handful of operations and one ``pow`` or ``cos``:
  each rounding is counted against the magnitude it acts on, ``errormodel.LIBM_ULPS`` for each libm call, and
  the argument ``pi * f`` of a cosine carries 3 roundings (pi, the product, the quotient f), so ``cos`` is off by
  ``(3 pi max(1, f) + LIBM_ULPS) u`` in absolute terms; ``pow(gamma, p)`` is ``exp(p log gamma)``, whose log
  error is scaled by the exponent;
- recurrences (PyTorch's StepLR, MultiStepLR, ExponentialLR, LinearLR, CosineAnnealingLR: ``get_lr`` multiplies
  the last rate) carry the error of every earlier step forward, multiplied by each step's exact ratio: the bound is that
  recursion, run step by step.

The reference computes the closed form in float64; its own error (the same closed-form bound at float64's u) is
added, as is the underflow floor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, UNDERFLOW_FLOOR, gamma
from nnspec.reference import dtypes

__all__ = ["PRECISION_FACTS", "PROBES", "closed_form_bound", "recursive_bound", "budget"]

#: The precision facts a backend may declare in ``conventions["lr_schedule"]`` next to the reference's conventions:
#: ``rate_dtype`` (the dtype the rate is computed in, or a dict: schedule -> that dtype) and ``recursive`` (the
#: schedules its scheduler evaluates by recurrence from the previous rate).
PRECISION_FACTS = ("rate_dtype", "recursive")

#: convention -> (schedule, hyper, steps) whose rates tell its values apart by a whole step's change of the rate:
#: a milestone at update 2 (is update 2 decayed?), a cosine run past its end, a one-cycle whose peak and minimum
#: move by one update (``nnspec identify``; docs/spec/schedules.md#conventions).
PROBES = {
    "switch": ("piecewise_constant", {"lr": 1.0, "gamma": 0.5, "milestones": [2]}, 4),
    "after_end": ("cosine", {"lr": 1.0, "decay_steps": 2, "alpha": 0.0}, 4),
    "phase_ends": ("onecycle", {"lr": 1.0, "total_steps": 8, "pct_start": 0.5, "div_factor": 4.0,
                                "final_div_factor": 2.0}, 8),
}

_COS = 3.0 * math.pi  # roundings of the cosine's argument pi * f, in units of u per unit of f


def _cos_error(fraction: np.ndarray, u: float) -> np.ndarray:
    """Absolute error of 1 + cos(pi * f) computed from a rounded f: the argument's 3 roundings, libm, the sum."""
    return (_COS * np.maximum(1.0, np.abs(fraction)) + LIBM_ULPS + 1.0) * u


def _anneal_bound(start, end, fraction, rate, u: float) -> np.ndarray:
    """end + (start - end) * (1 + cos(pi f)) / 2 in any order: the cosine's error times the amplitude, and a few
    roundings on each magnitude involved (the endpoints themselves computed with at most 3 roundings)."""
    amplitude = np.abs(np.asarray(start) - np.asarray(end))
    return amplitude / 2.0 * _cos_error(fraction, u) + 7.0 * u * (np.abs(rate) + np.abs(start) + np.abs(end))


def _piecewise_bound(h: Mapping[str, object], rates: np.ndarray, u: float) -> np.ndarray:
    """A product by gamma per milestone passed, whether a framework multiplies v * gamma at each (optax, PyTorch's
    recurrence) or reads lr * gamma**i from a table (Keras: exact in its dtype for the drawn values)."""
    return gamma(len(h["milestones"]) + 1, u) * np.abs(rates)


def _onecycle_phases(t: np.ndarray, h: Mapping[str, object], phase_ends: str):
    """(start, end, fraction) of the phase each step lies in, as the reference defines the phases."""
    lr, total, pct = float(h["lr"]), int(h["total_steps"]), float(h.get("pct_start", 0.3))
    initial = lr / float(h.get("div_factor", 25.0))
    minimum = initial / float(h.get("final_div_factor", 1e4))
    if phase_ends == "boundary":
        b1 = math.floor(pct * total)
        first = t < b1
        fraction = np.where(first, t / max(b1, 1), np.minimum(t - b1, total - b1) / max(total - b1, 1))
    else:
        b1 = pct * total - 1.0
        first = t <= b1
        fraction = np.where(first, t / b1, (t - b1) / (total - 1.0 - b1))
    return np.where(first, initial, lr), np.where(first, lr, minimum), fraction


def closed_form_bound(schedule: str, h: Mapping[str, object], rates: np.ndarray, u: float,
                      conventions: Mapping[str, str]) -> np.ndarray:
    """The error of the schedule's closed form evaluated with unit roundoff ``u``, at each step of ``rates``."""
    t = np.arange(rates.size, dtype=np.float64)
    r = np.abs(rates)
    if schedule == "piecewise_constant":
        return _piecewise_bound(h, rates, u)
    if schedule in ("step_decay", "exponential"):
        # pow(gamma, p) as exp(p * log(gamma)): log's error grows with the exponent |p log gamma| = |log(r / lr)|;
        # then exp, the product (the exponent p itself is exact for t < 2**24)
        with np.errstate(divide="ignore"):
            exponent = np.abs(np.log(r / float(h["lr"])))
        return (LIBM_ULPS + 2.0 + (LIBM_ULPS + 1.0) * np.nan_to_num(exponent, posinf=0.0)) * u * r
    if schedule == "linear":
        lr = float(h["lr"])
        return 4.0 * u * (lr * abs(float(h["end_factor"]) - float(h["start_factor"])) + r)
    if schedule == "onecycle":
        start, end, fraction = _onecycle_phases(t, h, conventions.get("phase_ends", "boundary"))
        return _anneal_bound(start, end, fraction, rates, u)
    lr, alpha = float(h["lr"]), float(h.get("alpha", 0.0))
    shift = int(h.get("warmup_steps", 0)) if schedule == "warmup_cosine" else 0
    s, steps = t - shift, float(h["decay_steps"])
    if conventions.get("after_end", "hold") == "hold":
        s = np.minimum(s, steps)
    cosine = _anneal_bound(lr, alpha * lr, s / steps, rates, u)
    if schedule == "cosine":
        return cosine
    warmup = 4.0 * u * (lr * (1.0 - float(h["start_factor"])) + r)
    return np.where(t < shift, warmup, cosine)


def _linear_recursion(h: Mapping[str, object], rates: np.ndarray, u: float, total: int, start: float,
                      end: float) -> np.ndarray:
    """PyTorch's LinearLR: rate_t = rate_{t-1} * (1 + (end - start) / (total * start + (t - 1) * (end - start)))."""
    errors = np.zeros(rates.size)
    for t in range(rates.size):
        if t == 0:
            errors[t] = u * abs(rates[0])
            continue
        if t > total:
            errors[t] = errors[t - 1]
            continue
        denominator = total * start + (t - 1) * (end - start)
        q = (end - start) / denominator
        condition = (abs(total * start) + abs((t - 1) * (end - start))) / abs(denominator)
        errors[t] = (abs(1.0 + q) * errors[t - 1] + abs(rates[t - 1] * q) * (3.0 * condition + 2.0) * u
                     + 2.0 * u * abs(rates[t]))
    return errors


def _cosine_recursion(rates: np.ndarray, lr: float, final: float, steps: int, u: float, first_error: float,
                      ) -> np.ndarray:
    """PyTorch's CosineAnnealingLR: x_t = (1 + c_t) / (1 + c_{t-1}) * x_{t-1} with x = rate - final, or
    x_{t-1} plus (lr - final) (1 - cos(pi / steps)) / 2 where x_{t-1} is 0 (just past the end)."""
    amplitude, errors = abs(lr - final), np.zeros(rates.size)
    x = rates - final
    for t in range(rates.size):
        if t == 0:
            errors[t] = first_error
            continue
        ratio = abs(x[t] / x[t - 1]) if x[t - 1] != 0 else 1.0
        cos = _cos_error(np.asarray(t / steps), u)
        errors[t] = (ratio * errors[t - 1] + amplitude / 2.0 * cos * (1.0 + ratio)
                     + u * (abs(rates[t - 1]) + abs(rates[t]) + 3.0 * abs(x[t])))
    return errors


def recursive_bound(schedule: str, h: Mapping[str, object], rates: np.ndarray, u: float) -> np.ndarray:
    """The error of PyTorch's recurrences (float64 Python arithmetic, ``u``), step by step."""
    t = np.arange(rates.size, dtype=np.float64)
    if schedule == "piecewise_constant":
        return _piecewise_bound(h, rates, u)
    if schedule in ("step_decay", "exponential"):
        return gamma(t + 1.0, u) * np.abs(rates)  # at most t + 1 roundings, each relative to the rate then
    lr = float(h["lr"])
    if schedule == "linear":
        return _linear_recursion(h, rates, u, int(h["total_steps"]), float(h["start_factor"]),
                                 float(h["end_factor"]))
    final = float(h.get("alpha", 0.0)) * lr
    if schedule == "cosine":
        return _cosine_recursion(rates, lr, final, int(h["decay_steps"]), u, 0.0)
    if schedule == "warmup_cosine":  # SequentialLR: LinearLR up to the milestone, then CosineAnnealingLR afresh
        warmup = int(h["warmup_steps"])
        head = _linear_recursion(h, rates[:warmup], u, warmup, float(h["start_factor"]), 1.0) if warmup else []
        tail = _cosine_recursion(rates[warmup:], lr, final, int(h["decay_steps"]), u, 2.0 * u * lr)
        return np.concatenate([head, tail])
    raise ValueError(f"schedules room: {schedule!r} has no recurrence in any framework")


def budget(schedule: str, h: Mapping[str, object], rates: np.ndarray, fmt: dtypes.Format,
           declaration: Mapping[str, object]) -> np.ndarray:
    """The per-step budget of the applied rates against the reference's ``rates`` (float64, the declared
    conventions): the framework's rate error in its rate dtype (closed form or recurrence), the rounding into
    ``fmt``, the reference's own float64 error, the underflow floor."""
    conventions = {k: v for k, v in declaration.items() if k not in PRECISION_FACTS}
    u64 = dtypes.FLOAT64.unit_roundoff
    rate_dtype = declaration.get("rate_dtype", "float64")
    rate_dtype = rate_dtype.get(schedule, "float64") if isinstance(rate_dtype, Mapping) else rate_dtype
    # the declaration names its rate format (the backend protocol's names): resolved here, where it is read
    u_rate = dtypes.get(str(rate_dtype)).unit_roundoff
    if schedule in declaration.get("recursive", ()):
        framework = recursive_bound(schedule, h, rates, u_rate)
    else:
        framework = closed_form_bound(schedule, h, rates, u_rate, conventions)
    return (framework + fmt.unit_roundoff * np.abs(rates) + closed_form_bound(schedule, h, rates, u64, conventions)
            + UNDERFLOW_FLOOR * fmt.tiny)
