"""Self-tests of reference/schedules.py (docs/spec/schedules.md): the closed forms against the mpmath oracle
within the reference's own float64 bound (the schedules room's closed-form bound at float64's u), values checked
by hand at the boundaries where off-by-one bugs live, and the errors on bad input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.conformance import schedules as room
from nnspec.conformance.oracles import schedules as oracle
from nnspec.conformance.strategies.schedules import PROBLEMS
from nnspec.reference import dtypes, schedules

U64 = dtypes.FLOAT64.unit_roundoff
CONVENTION_SETS = [{}, {"after_end": "periodic", "phase_ends": "last_step"}]


@settings(max_examples=60, deadline=None)
@given(schedule=st.sampled_from(sorted(PROBLEMS)), data=st.data(), conventions=st.sampled_from(CONVENTION_SETS))
def test_reference_matches_the_oracle_within_its_float64_bound(schedule, data, conventions):
    hyper, steps = data.draw(PROBLEMS[schedule]())
    computed = schedules.rates(schedule, hyper, steps, **conventions)
    exact = np.array([float(v) for v in oracle.rates(schedule, hyper, steps, **conventions)])
    bound = room.closed_form_bound(schedule, hyper, exact, U64, conventions) + 2.0 * dtypes.FLOAT64.tiny
    assert np.all(np.abs(computed - exact) <= bound), (hyper, steps, computed - exact, bound)


def test_step_decay_decays_first_at_update_step_size():
    rates = schedules.rates("step_decay", {"lr": 0.5, "gamma": 0.25, "step_size": 3}, 7)
    assert rates.tolist() == [0.5, 0.5, 0.5, 0.125, 0.125, 0.125, 0.03125]


def test_cosine_holds_or_repeats_after_its_end():
    hyper = {"lr": 1.0, "decay_steps": 1, "alpha": 0.5}
    assert schedules.rates("cosine", hyper, 3).tolist() == [1.0, 0.5, 0.5]
    assert schedules.rates("cosine", hyper, 3, after_end="periodic").tolist() == [1.0, 0.5, 1.0]


def test_warmup_of_zero_starts_at_the_peak():
    hyper = {"lr": 2.0, "start_factor": 0.125, "warmup_steps": 0, "decay_steps": 1, "alpha": 0.25}
    assert schedules.rates("warmup_cosine", hyper, 3).tolist() == [2.0, 0.5, 0.5]


def test_linear_is_constant_after_total_steps():
    hyper = {"lr": 4.0, "start_factor": 1.0, "end_factor": 0.0, "total_steps": 2}
    assert schedules.rates("linear", hyper, 4).tolist() == [4.0, 2.0, 0.0, 0.0]


def test_onecycle_pytorch_peaks_and_ends_one_update_earlier():
    hyper = {"lr": 1.0, "total_steps": 6, "pct_start": 0.5, "div_factor": 4.0, "final_div_factor": 2.0}
    optax = schedules.rates("onecycle", hyper, 7)
    torch = schedules.rates("onecycle", hyper, 7, phase_ends="last_step")
    assert int(np.argmax(optax)) == 3 and int(np.argmax(torch)) == 2
    assert optax[6] == 0.125 and torch[5] == 0.125  # the minimum, lr / 4 / 2: at t = 6 and t = 5
    assert torch[6] > 0.125  # PyTorch's one extra update extrapolates the cosine past its end
    assert math.isclose(optax[0], 0.25) and math.isclose(torch[0], 0.25)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: schedules.step_decay(-1, lr=1.0, gamma=0.5, step_size=1), ValueError,
     r"schedules\.step_decay: t must be an int >= 0, got -1"),
    (lambda: schedules.step_decay(0, lr=1.0, gamma=0.5, step_size=0), ValueError, r"step_size must be an int >= 1"),
    (lambda: schedules.exponential(0, lr=0.0, gamma=0.5), ValueError, r"schedules\.exponential: lr must be in \(0"),
    (lambda: schedules.cosine(0, lr=1.0, decay_steps=2, alpha=1.5), ValueError, r"alpha must be in \[0"),
    (lambda: schedules.cosine(0, lr=1.0, decay_steps=2, after_end="wrap"), ValueError, r"after_end must be one of"),
    (lambda: schedules.linear(0, lr=1.0, start_factor=0.5, end_factor=1.0, total_steps=1.5), ValueError,
     r"total_steps must be an int >= 1"),
    (lambda: schedules.onecycle(0, lr=1.0, total_steps=4, pct_start=0.25, phase_ends="last_step"), ValueError,
     r"pct_start \* total_steps != 1"),
    (lambda: schedules.rates("triangle", {}, 2), ValueError, r"schedules\.rates: schedule must be one of"),
    (lambda: schedules.rates("cosine", {"lr": 1.0, "decay_steps": 2}, 2, warmup="x"), ValueError,
     r"unknown convention\(s\) warmup"),
    (lambda: schedules.rates("cosine", [1.0], 2), TypeError, r"hyper must be a dict"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
