"""Learning-rate schedules for the TensorFlow backend: ``keras.optimizers.schedules`` classes passed as
``learning_rate`` to ``keras.optimizers.SGD``, which evaluates the schedule at its ``iterations`` counter (0 at
the first update) and then increments it (docs/spec/schedules.md#measuring).

The variable is 0 before each update and its gradient 1, so ``apply_gradients`` leaves exactly minus the rate
the update applied. Argument translation only: step decay is ExponentialDecay with ``staircase=True``;
multi-step decay is PiecewiseConstantDecay, which switches one update later than PyTorch and optax (declared:
``switch``, docs/spec/schedules.md#piecewise-constant);
a warmup's start rate and a linear schedule's end points are products of lr and the factors (exact for the
drawn values). Keras has no one-cycle schedule. Each schedule casts its hyperparameters to float32 (Keras's
``floatx``) and computes the rate in float32, for float64 variables too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from nnspec.adapters.tensorflow.runtime import keras, tf

__all__ = ["KerasSchedulesMixin"]

_SCHEDULES = keras.optimizers.schedules


def _step_decay(h):
    return _SCHEDULES.ExponentialDecay(h["lr"], decay_steps=h["step_size"], decay_rate=h["gamma"], staircase=True)


def _piecewise_constant(h):
    """The table of rates lr * gamma**i (products of the drawn dyadic values: exact in float32)."""
    values = [h["lr"] * h["gamma"] ** i for i in range(len(h["milestones"]) + 1)]
    return _SCHEDULES.PiecewiseConstantDecay(list(h["milestones"]), values)


def _exponential(h):
    return _SCHEDULES.ExponentialDecay(h["lr"], decay_steps=1, decay_rate=h["gamma"])


def _cosine(h):
    return _SCHEDULES.CosineDecay(h["lr"], decay_steps=h["decay_steps"], alpha=h.get("alpha", 0.0))


def _warmup_cosine(h):
    return _SCHEDULES.CosineDecay(h["start_factor"] * h["lr"], decay_steps=h["decay_steps"],
                                  alpha=h.get("alpha", 0.0), warmup_target=h["lr"], warmup_steps=h["warmup_steps"])


def _linear(h):
    return _SCHEDULES.PolynomialDecay(h["start_factor"] * h["lr"], decay_steps=h["total_steps"],
                                      end_learning_rate=h["end_factor"] * h["lr"], power=1.0)


_BUILDERS = {"step_decay": _step_decay, "piecewise_constant": _piecewise_constant, "exponential": _exponential,
             "cosine": _cosine, "warmup_cosine": _warmup_cosine, "linear": _linear}


class KerasSchedulesMixin:
    """``lr_schedule`` of TensorFlowBackend."""

    SCHEDULE_FEATURES: frozenset = frozenset(f"schedule_{name}" for name in _BUILDERS)
    #: PiecewiseConstantDecay keeps the old value AT a boundary (``step <= boundary``); float32 rates
    SCHEDULE_CONVENTIONS = MappingProxyType({"lr_schedule": MappingProxyType({"switch": "after_boundary",
                                                                              "rate_dtype": "float32"})})

    def lr_schedule(self, schedule: str, hyper: Mapping[str, object], steps: int, dtype: str) -> np.ndarray:
        variable = keras.Variable(np.zeros(1), dtype=dtype, name="param")
        optimizer = keras.optimizers.SGD(learning_rate=_BUILDERS[schedule](hyper))
        optimizer.build([variable])
        gradient, applied = tf.ones((1,), dtype=dtype), []
        for _ in range(steps):
            variable.assign(np.zeros(1))
            optimizer.apply_gradients([(gradient, variable)])
            applied.append(-np.asarray(variable.numpy(), dtype=np.float64))
        return np.concatenate(applied) if applied else np.zeros(0)
