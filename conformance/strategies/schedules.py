"""Hyperparameters of the learning-rate schedules (docs/spec/schedules.md), with the number of updates to drive.

Every rate and factor is a dyadic number with at most 4 significant bits (m / 2**k, m < 16): exact in every
dtype down to bfloat16, and the products the adapters form to translate arguments (lr * alpha into an absolute
final rate, lr * start_factor into an initial one) are exact too, so every framework receives exactly the
hyperparameters drawn. The boundaries where off-by-one bugs live are drawn on purpose: steps equal to the decay
length and one past it, a warmup of 0, a decay length of 1, gamma 1 and alpha 0.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st

__all__ = ["rates", "factors", "decay_steps", "update_counts", "step_decay_problems", "piecewise_constant_problems",
           "exponential_problems",
           "cosine_problems", "warmup_cosine_problems", "linear_problems", "onecycle_problems", "PROBLEMS"]

_MAX_STEPS = 14


@functools.cache
def rates() -> st.SearchStrategy[float]:
    """Base learning rates m / 2**k, m in 1..15, k in 0..10 (from about 1e-3 to 15)."""
    return st.builds(lambda m, k: m / 2.0**k, st.integers(1, 15), st.integers(0, 10))


@functools.cache
def factors(min_value: int = 0, max_value: int = 16) -> st.SearchStrategy[float]:
    """Factors k / 16 for k in [min_value, max_value] (0 and 1 included by default)."""
    return st.integers(min_value, max_value).map(lambda k: k / 16.0)


@functools.cache
def decay_steps(max_value: int = 6) -> st.SearchStrategy[int]:
    """Decay lengths from 1 (a one-step decay) to ``max_value``."""
    return st.integers(1, max_value)


@functools.cache
def update_counts(length: int) -> st.SearchStrategy[int]:
    """Numbers of updates to drive for a schedule of ``length`` updates: exactly ``length`` and one past it (the
    last step and the first after it), or anything from 1 to twice the length plus 2 (beyond the end)."""
    return st.one_of(st.just(max(length, 1)), st.just(length + 1), st.integers(1, min(2 * length + 2, _MAX_STEPS)))


@functools.cache
@st.composite
def step_decay_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of step decay: gamma in (0, 1], a step size of 1 to 5, steps around its multiples."""
    step_size = draw(st.integers(1, 5))
    hyper = {"lr": draw(rates()), "gamma": draw(factors(1, 16)), "step_size": step_size}
    return hyper, draw(update_counts(2 * step_size))


@functools.cache
@st.composite
def piecewise_constant_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of multi-step decay: 1 to 3 increasing milestones in 1..8 (1: the first decay right after
    update 0), steps up to two past the last milestone (each milestone and the update after it)."""
    milestones = sorted(draw(st.sets(st.integers(1, 8), min_size=1, max_size=3)))
    hyper = {"lr": draw(rates()), "gamma": draw(factors(1, 16)), "milestones": milestones}
    return hyper, draw(st.one_of(st.just(milestones[-1] + 1), st.integers(1, milestones[-1] + 2)))


@functools.cache
@st.composite
def exponential_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of per-update exponential decay, gamma in [1/2, 1] (so 14 updates stay far from underflow)."""
    return {"lr": draw(rates()), "gamma": draw(factors(8, 16))}, draw(st.integers(1, _MAX_STEPS))


@functools.cache
@st.composite
def cosine_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of cosine annealing to alpha * lr, alpha in [0, 15/16], steps to beyond the end."""
    steps = draw(decay_steps())
    hyper = {"lr": draw(rates()), "decay_steps": steps, "alpha": draw(factors(0, 15))}
    return hyper, draw(update_counts(steps))


@functools.cache
@st.composite
def warmup_cosine_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of linear warmup from start_factor * lr (a warmup of 0 to 4 updates) then cosine."""
    warmup, steps = draw(st.integers(0, 4)), draw(decay_steps(5))
    hyper = {"lr": draw(rates()), "start_factor": draw(factors(1, 16)), "warmup_steps": warmup,
             "decay_steps": steps, "alpha": draw(factors(0, 15))}
    return hyper, draw(update_counts(warmup + steps))


@functools.cache
@st.composite
def linear_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of a linear warmup or decay between factors of lr (start in (0, 1], end in [0, 1], the
    ranges PyTorch's LinearLR accepts) over 1 to 6 updates."""
    total = draw(decay_steps())
    hyper = {"lr": draw(rates()), "start_factor": draw(factors(1, 16)), "end_factor": draw(factors(0, 16)),
             "total_steps": total}
    return hyper, draw(update_counts(total))


@functools.cache
@st.composite
def onecycle_problems(draw) -> tuple[dict[str, object], int]:
    """(hyper, steps) of one cycle: 4 to 12 updates, pct_start k/8 with pct_start * total_steps >= 2 and < total
    (PyTorch divides by pct_start * total_steps - 1), at most total_steps + 1 updates (PyTorch raises after)."""
    total = draw(st.integers(4, 12))
    eighths = draw(st.integers(max(1, -(-16 // total)), 7))
    hyper = {"lr": draw(rates()), "total_steps": total, "pct_start": eighths / 8.0,
             "div_factor": draw(st.sampled_from([25.0, 4.0, 10.0])),
             "final_div_factor": draw(st.sampled_from([1e4, 8.0, 100.0]))}
    return hyper, draw(st.one_of(st.just(total), st.just(total + 1), st.integers(1, total + 1)))


#: schedule name -> the strategy of its (hyper, steps)
PROBLEMS = {"step_decay": step_decay_problems, "piecewise_constant": piecewise_constant_problems,
            "exponential": exponential_problems, "cosine": cosine_problems,
            "warmup_cosine": warmup_cosine_problems, "linear": linear_problems, "onecycle": onecycle_problems}
