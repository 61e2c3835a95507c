"""A scheduler stepped before the optimizer (adapters/mutants_schedules.py: every update applies the next update's
rate) must fail the `ci` run of the schedule tests, with a message naming the schedule, the dtype and the step;
its replay command must reproduce the failure. The real backends must pass the same run.

Each run is the real command line (`nnspec run`), in float32.
"""

from __future__ import annotations

import shlex

import pytest

ALL_SCHEDULES = {"step_decay", "piecewise_constant", "exponential", "cosine", "warmup_cosine", "linear", "onecycle"}
#: the scripted boundary tests: each one's off-by-one shows at a step the test names
SCRIPTED = {"test_schedule_step_decay_first_decay_at_update_step_size",
            "test_schedule_piecewise_constant_switches_at_each_milestone",
            "test_schedule_cosine_reaches_alpha_at_decay_steps_and_after",
            "test_schedule_warmup_cosine_without_warmup_starts_at_peak",
            "test_schedule_linear_warmup_ends_at_total_steps", "test_schedule_onecycle_peak_and_end"}


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # the mutant's own order
def test_scheduler_stepped_first_fails_every_schedule(failing_run, nnspec_here, tmp_path):
    pytest.importorskip("torch")
    failed = failing_run("--backend", "nnspec.adapters.mutants_schedules:TorchSchedulerSteppedFirst",
                         "--dtype", "float32", "--profile", "ci", "--no-shrink", "-k", "schedule")
    tests = {case["test"] for case in failed}
    assert SCRIPTED <= tests, sorted(tests)
    assert {f"test_schedule_{name}_matches_reference" for name in ALL_SCHEDULES} <= tests, sorted(tests)
    case = next(c for c in failed if c["test"] == "test_schedule_step_decay_first_decay_at_update_step_size")
    for fragment in (" float32 schedule_step_decay ", "step_decay rate at update t", "worst element (2,)",
                     "error/budget", "replay this case: nnspec replay "):
        assert fragment in case["message"], case["message"]
    replay = nnspec_here(*shlex.split(case["replay"])[1:], cwd=tmp_path)
    assert replay.returncode == 1 and "FAIL" in replay.stdout, replay.stdout + replay.stderr


@pytest.mark.parametrize(("backend", "module", "schedules"), [
    ("torch", "torch", ALL_SCHEDULES),
    ("jax", "optax", ALL_SCHEDULES),
    ("tensorflow", "keras", ALL_SCHEDULES - {"onecycle"}),  # Keras has no one-cycle schedule
])
def test_real_backends_pass_the_schedule_tests(real_run, backend, module, schedules):
    pytest.importorskip(module)
    cases = real_run(backend, "schedule")
    passed = {case["primitive"] for case in cases if case["outcome"] == "passed"}
    assert passed == {f"schedule_{name}" for name in schedules}, [(c["test"], c["outcome"]) for c in cases]
