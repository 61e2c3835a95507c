"""Early stopping: watch one monitored value per epoch, stop after ``patience`` epochs without improvement,
and optionally restore the weights of the best epoch, also when training ends by running out of epochs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["MODES", "Result", "State", "init", "run", "update"]

MODES = ("min", "max")


class State(NamedTuple):
    """epoch: epochs seen; best, best_epoch: the last improvement (None before one); wait: counted epochs
    since the last epoch that improved and cleared the baseline; improved, stop: the verdict on the last epoch."""

    epoch: int = 0
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    improved: bool = False
    stop: bool = False


class Result(NamedTuple):
    """stopped_epoch: the 0-based epoch after which training stopped, None if every epoch ran;
    restored_epoch: the epoch whose weights the model holds at the end."""

    stopped_epoch: int | None
    restored_epoch: int


def init() -> State:
    """The state before the first epoch.

    Spec: docs/spec/early-stopping.md#rules

    Example:
        >>> init().wait
        0
    """
    return State()


def _count(function: str, name: str, value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{function}: {name} must be an int >= 0, got {value!r}")
    return int(value)


def _checked_state(function: str, state: object) -> State:
    """Raise unless ``state`` is a State that init and update can produce: counts >= 0, a best that is a
    number (never NaN) exactly when best_epoch is an epoch already seen, wait <= epoch, bool verdicts."""
    if not isinstance(state, State):
        raise TypeError(f"{function}: state must be the State of init or update, got {type(state).__name__}")
    epoch, wait = _count(function, "state.epoch", state.epoch), _count(function, "state.wait", state.wait)
    if wait > epoch:
        raise ValueError(f"{function}: state.wait must be <= state.epoch ({epoch}), got {wait}")
    for name in ("improved", "stop"):
        if not isinstance(getattr(state, name), (bool, np.bool_)):
            raise TypeError(f"{function}: state.{name} must be a bool, got {type(getattr(state, name)).__name__}")
    if (state.best is None) != (state.best_epoch is None):
        raise ValueError(f"{function}: state.best and state.best_epoch must both be None or both be set, got "
                         f"best={state.best!r}, best_epoch={state.best_epoch!r}")
    if state.best is None:
        return state
    if isinstance(state.best, (bool, np.bool_)) or not isinstance(state.best, numbers.Real):
        raise TypeError(f"{function}: state.best must be a real number or None, got {type(state.best).__name__}")
    if math.isnan(state.best):
        raise ValueError(f"{function}: state.best must not be NaN (NaN is never an improvement), got nan")
    best_epoch = _count(function, "state.best_epoch", state.best_epoch)
    if best_epoch >= epoch:
        raise ValueError(f"{function}: state.best_epoch must be < state.epoch ({epoch}), got {best_epoch}")
    return state


def _better(value: float, reference: float, mode: str, min_delta: float) -> bool:
    """Strictly better by more than min_delta; NaN is never better."""
    return value < reference - min_delta if mode == "min" else value > reference + min_delta


def update(state: State, value: float, *, mode: str = "min", min_delta: float = 0.0, patience: int = 0,
           baseline: float | None = None, start_from_epoch: int = 0, improvement_postpones: bool = False) -> State:
    """Account for one epoch's monitored value.

    Spec: docs/spec/early-stopping.md#rules

    Math:
        epoch = state.epoch                        0-based index of this epoch
        epoch < start_from_epoch:                  ignored (not counted, never best, never stops)
        better(a, b) = a < b - min_delta ("min"), a > b + min_delta ("max"); False when a is NaN
        improved = (best is None and value is not NaN) or better(value, best)
        improved:                                  best, best_epoch = value, epoch
        qualifies = improved and (baseline is None or better(value, baseline))
        wait = 0 if qualifies else wait + 1
        stop = wait >= max(patience, 1)              (and not improved, with improvement_postpones: Keras's
                                                    convention, docs/spec/early-stopping.md#improvement-postpones)

    Raises:
        ValueError, TypeError: for an unknown mode, a negative or non-finite min_delta or baseline, a
            patience or start_from_epoch that is not an int >= 0, a value that is not a real number, an
            improvement_postpones that is not a bool, or a state that init and update cannot produce (a
            negative epoch or wait, wait > epoch, a NaN best).

    Example (patience 2: epochs 1 and 2 do not improve on 1.0):
        >>> state = init()
        >>> for value in [1.0, 1.0, 1.5]:
        ...     state = update(state, value, patience=2)
        >>> state.stop, state.best_epoch
        (True, 0)
    """
    function = "early_stopping.update"
    state = _checked_state(function, state)
    check.choice(function, "mode", mode, MODES)
    min_delta = check.real_number(function, "min_delta", min_delta, low=0.0)
    patience, start_from_epoch = _count(function, "patience", patience), _count(function, "start_from_epoch",
                                                                                 start_from_epoch)
    if baseline is not None:
        baseline = check.real_number(function, "baseline", baseline)
    if not isinstance(improvement_postpones, (bool, np.bool_)):
        raise TypeError(f"{function}: improvement_postpones must be a bool, got {type(improvement_postpones).__name__}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: value must be a real number, got {type(value).__name__}")
    value, epoch = float(value), state.epoch
    if epoch < start_from_epoch:
        return state._replace(epoch=epoch + 1, improved=False, stop=False)
    if state.best is None:
        improved = not math.isnan(value)
    else:
        improved = _better(value, state.best, mode, min_delta)
    best, best_epoch = (value, epoch) if improved else (state.best, state.best_epoch)
    qualifies = improved and (baseline is None or _better(value, baseline, mode, min_delta))
    wait = 0 if qualifies else state.wait + 1
    stop = wait >= max(patience, 1) and not (improvement_postpones and improved)
    return State(epoch + 1, best, best_epoch, wait, improved, stop)


def run(values: Sequence[float], *, mode: str = "min", min_delta: float = 0.0, patience: int = 0,
        baseline: float | None = None, start_from_epoch: int = 0, restore_best_weights: bool = False,
        improvement_postpones: bool = False) -> Result:
    """Early stopping over a scripted run: one monitored value per epoch, at most ``len(values)`` epochs.

    Spec: docs/spec/early-stopping.md#restoring

    Math:
        for epoch, value in enumerate(values): state = update(state, value, ...); stop after it if state.stop
        last = the epoch that stopped, else len(values) - 1 (training ran out of epochs)
        restored_epoch = state.best_epoch if restore_best_weights and best_epoch is not None, else last
        (the best weights are restored also when training ends by epoch count)
        improvement_postpones (Keras's convention) is passed on to ``update``

    Raises:
        ValueError: for no values, and as ``update``.

    Example (patience 2; the best epoch 1 lies inside the last 2 epochs, training runs out, 1 is restored):
        >>> run([3.0, 1.0, 2.0], patience=2, restore_best_weights=True)
        Result(stopped_epoch=None, restored_epoch=1)
    """
    function = "early_stopping.run"
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    values = check.sequence(function, "values", values)
    if len(values) == 0:
        raise ValueError(f"{function}: values must hold at least one epoch's value, got none")
    if not isinstance(restore_best_weights, (bool, np.bool_)):
        raise TypeError(f"{function}: restore_best_weights must be a bool, got {type(restore_best_weights).__name__}")
    state, stopped = init(), None
    for epoch, value in enumerate(values):
        state = update(state, value, mode=mode, min_delta=min_delta, patience=patience, baseline=baseline,
                       start_from_epoch=start_from_epoch, improvement_postpones=improvement_postpones)
        if state.stop:
            stopped = epoch
            break
    last = len(values) - 1 if stopped is None else stopped
    restored = state.best_epoch if restore_best_weights and state.best_epoch is not None else last
    return Result(stopped, restored)
