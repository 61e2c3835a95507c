"""Learning-rate schedules for the torch backend: ``torch.optim.lr_scheduler`` classes driving ``torch.optim.SGD``,
in the documented order: ``optimizer.step()`` then ``scheduler.step()`` (docs/spec/schedules.md#measuring).

The parameter is set to 0 before each update and its gradient is 1, so the update's result is exactly minus the
rate the optimizer applied, rounded into the parameter's dtype. The schedulers compute in Python floats
(float64); StepLR, ExponentialLR, LinearLR and CosineAnnealingLR multiply the previous rate in ``get_lr`` (a
recurrence, declared as the precision fact ``recursive``), and MultiStepLR too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import torch
from torch.optim import lr_scheduler

from nnspec.adapters.torch import model
from nnspec.adapters.torch.tables import DTYPES

__all__ = ["TorchSchedulesMixin"]


def _step_decay(optimizer, h):
    return lr_scheduler.StepLR(optimizer, step_size=h["step_size"], gamma=h["gamma"])


def _piecewise_constant(optimizer, h):
    return lr_scheduler.MultiStepLR(optimizer, milestones=list(h["milestones"]), gamma=h["gamma"])


def _exponential(optimizer, h):
    return lr_scheduler.ExponentialLR(optimizer, gamma=h["gamma"])


def _cosine(optimizer, h):  # eta_min: the absolute final rate (alpha * lr, exact for the drawn dyadic values)
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=h["decay_steps"], eta_min=h.get("alpha", 0.0) * h["lr"])


def _warmup_cosine(optimizer, h):
    """The composition PyTorch documents for warmup: SequentialLR(LinearLR, CosineAnnealingLR) at the milestone."""
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=h["start_factor"], end_factor=1.0,
                                   total_iters=h["warmup_steps"])
    return lr_scheduler.SequentialLR(optimizer, [warmup, _cosine(optimizer, h)], milestones=[h["warmup_steps"]])


def _linear(optimizer, h):
    return lr_scheduler.LinearLR(optimizer, start_factor=h["start_factor"], end_factor=h["end_factor"],
                                 total_iters=h["total_steps"])


def _onecycle(optimizer, h):  # cycle_momentum off: plain SGD has no momentum to cycle
    return lr_scheduler.OneCycleLR(optimizer, max_lr=h["lr"], total_steps=h["total_steps"],
                                   pct_start=h.get("pct_start", 0.3), anneal_strategy="cos",
                                   div_factor=h.get("div_factor", 25.0),
                                   final_div_factor=h.get("final_div_factor", 1e4), cycle_momentum=False)


_SCHEDULERS = {"step_decay": _step_decay, "piecewise_constant": _piecewise_constant, "exponential": _exponential,
               "cosine": _cosine, "warmup_cosine": _warmup_cosine, "linear": _linear, "onecycle": _onecycle}


class TorchSchedulesMixin:
    """``lr_schedule`` of TorchBackend (which provides ``_device``)."""

    SCHEDULE_FEATURES: frozenset = frozenset(f"schedule_{name}" for name in _SCHEDULERS)
    #: CosineAnnealingLR keeps following the cosine after T_max; OneCycleLR's phases end at pct_start * total - 1
    #: and total - 1; the rates are Python floats, four schedulers recur (docs/spec/schedules.md#conventions).
    SCHEDULE_CONVENTIONS = MappingProxyType({"lr_schedule": MappingProxyType({
        "after_end": "periodic", "phase_ends": "last_step", "rate_dtype": "float64",
        "recursive": ("step_decay", "piecewise_constant", "exponential", "cosine", "warmup_cosine", "linear")})})

    def lr_schedule(self, schedule: str, hyper: Mapping[str, object], steps: int, dtype: str) -> np.ndarray:
        param = torch.zeros(1, dtype=DTYPES[dtype], device=self._device, requires_grad=True)
        optimizer = torch.optim.SGD([param], lr=hyper["lr"], momentum=0.0, weight_decay=0.0)
        scheduler = _SCHEDULERS[schedule](optimizer, hyper)
        applied = []
        for k in range(steps):
            with torch.no_grad():
                param.zero_()
            param.grad = torch.ones_like(param)
            self._update(optimizer, scheduler, k)
            applied.append(-param.detach())
        return model.as_numpy(torch.cat(applied))

    @staticmethod
    def _update(optimizer, scheduler, k: int) -> None:
        """Update k of the documented loop ``optimizer.step(); scheduler.step()``: the scheduler step that follows
        update k - 1 comes first (the one after the last update would only prepare a rate never applied)."""
        if k:
            scheduler.step()
        optimizer.step()
