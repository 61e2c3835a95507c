"""Learning-rate schedules: the rate the framework's own optimizer applies at every update under its own
scheduler (step 0, the last step of the schedule and beyond it), against the reference's closed forms.

Spec: docs/spec/schedules.md
"""

from __future__ import annotations

from hypothesis import given

from nnspec.conformance import schedule_checks
from nnspec.conformance.strategies.schedules import PROBLEMS

SPEC = "docs/spec/schedules.md"
_ANCHORS = {"step_decay": "step-decay", "piecewise_constant": "piecewise-constant", "warmup_cosine": "warmup-cosine"}


def _check(checker, schedule: str, hyper: dict, steps: int, prop: str) -> None:
    checker.require(f"schedule_{schedule}", prop, feature=f"schedule_{schedule}")
    comparisons = schedule_checks.rates(checker.backend, schedule, hyper, steps, checker.fmt)
    checker.expect(comparisons, {"kind": "schedule_rates", "primitive": f"schedule_{schedule}", "arrays": {},
                                 "params": {"schedule": schedule, "hyper": dict(hyper), "steps": steps},
                                 "spec": f"{SPEC}#{_ANCHORS.get(schedule, schedule)}"})


@given(problem=PROBLEMS["step_decay"]())
def test_schedule_step_decay_matches_reference(checker, problem):
    _check(checker, "step_decay", *problem, "rates")


@given(problem=PROBLEMS["piecewise_constant"]())
def test_schedule_piecewise_constant_matches_reference(checker, problem):
    _check(checker, "piecewise_constant", *problem, "rates")


@given(problem=PROBLEMS["exponential"]())
def test_schedule_exponential_matches_reference(checker, problem):
    _check(checker, "exponential", *problem, "rates")


@given(problem=PROBLEMS["cosine"]())
def test_schedule_cosine_matches_reference(checker, problem):
    _check(checker, "cosine", *problem, "rates")


@given(problem=PROBLEMS["warmup_cosine"]())
def test_schedule_warmup_cosine_matches_reference(checker, problem):
    _check(checker, "warmup_cosine", *problem, "rates")


@given(problem=PROBLEMS["linear"]())
def test_schedule_linear_matches_reference(checker, problem):
    _check(checker, "linear", *problem, "rates")


@given(problem=PROBLEMS["onecycle"]())
def test_schedule_onecycle_matches_reference(checker, problem):
    _check(checker, "onecycle", *problem, "rates")


def test_schedule_step_decay_first_decay_at_update_step_size(checker):
    _check(checker, "step_decay", {"lr": 1.0, "gamma": 0.5, "step_size": 3}, 7, "first decay at t = step_size")


def test_schedule_piecewise_constant_switches_at_each_milestone(checker):
    hyper = {"lr": 1.0, "gamma": 0.25, "milestones": [1, 3]}
    _check(checker, "piecewise_constant", hyper, 5, "the update at and after each milestone")


def test_schedule_cosine_reaches_alpha_at_decay_steps_and_after(checker):
    _check(checker, "cosine", {"lr": 0.5, "decay_steps": 4, "alpha": 0.25}, 10, "last step and beyond")


def test_schedule_warmup_cosine_without_warmup_starts_at_peak(checker):
    hyper = {"lr": 1.0, "start_factor": 0.125, "warmup_steps": 0, "decay_steps": 3, "alpha": 0.0}
    _check(checker, "warmup_cosine", hyper, 5, "warmup 0")


def test_schedule_linear_warmup_ends_at_total_steps(checker):
    hyper = {"lr": 2.0, "start_factor": 0.25, "end_factor": 1.0, "total_steps": 3}
    _check(checker, "linear", hyper, 6, "warmup end")


def test_schedule_onecycle_peak_and_end(checker):
    hyper = {"lr": 1.0, "total_steps": 10, "pct_start": 0.5, "div_factor": 4.0, "final_div_factor": 8.0}
    _check(checker, "onecycle", hyper, 10, "peak and end")  # beyond the end: the drawn examples (PyTorch stops)
