"""Planted bugs in how a learning-rate schedule is wired to the optimizer (docs/spec/schedules.md#counting).

The schedule itself is the framework's, unchanged; only the loop around it is wrong, as in user code and in
training libraries: the scheduler is stepped BEFORE the optimizer, so every update applies the rate meant for the
next one (update 0 never sees the initial rate; a step decay comes one update early). Run it with
``nnspec run --backend nnspec.adapters.mutants_schedules:TorchSchedulerSteppedFirst --profile ci -k schedule``;
tests/conformance/test_schedule_bugs.py asserts that it fails that run.
"""

from __future__ import annotations

from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["MUTANTS", "TorchSchedulerSteppedFirst"]


class TorchSchedulerSteppedFirst(TorchBackend):
    """``scheduler.step(); optimizer.step()`` in the loop: the pre-1.1 PyTorch order, which PyTorch warns about
    ("Detected call of `lr_scheduler.step()` before `optimizer.step()`") and which skips the first rate."""

    name = "mutant-torch-scheduler-stepped-first"

    @staticmethod
    def _update(optimizer, scheduler, k: int) -> None:
        scheduler.step()
        optimizer.step()


#: mutant -> (a test it must fail, the feature it breaks)
MUTANTS = {TorchSchedulerSteppedFirst: ("test_schedule_step_decay_first_decay_at_update_step_size",
                                        "schedule_step_decay")}
