"""Self-tests of reference/early_stopping.py (docs/spec/early-stopping.md).

Oracles: the scripted curves of the conformance suite, whose outcomes were worked out by hand from the spec's
rules (conformance/strategies/training.py), and for random curves an independent formulation of the default
rules: with min_delta 0, no baseline and start 0, the best epoch up to e is the first occurrence of the
running minimum, training stops at the first epoch e with e - best(e) >= max(patience, 1), and the restored
epoch is the best epoch of the epochs that ran.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.strategies.training import SCRIPTED_CURVES, early_stopping_curves
from nnspec.reference import early_stopping


@pytest.mark.parametrize("name", sorted(SCRIPTED_CURVES))
def test_scripted_curves_stop_and_restore_as_worked_out_by_hand(name):
    values, rules, stopped, restored = SCRIPTED_CURVES[name]
    assert early_stopping.run(values, **rules) == (stopped, restored)


@given(values=early_stopping_curves(), patience=st.integers(0, 4))
def test_default_rules_match_the_running_minimum_formulation(values, patience):
    stopped = None
    for epoch in range(len(values)):
        best = int(np.argmin(values[:epoch + 1]))  # numpy's argmin: the first occurrence
        if epoch - best >= max(patience, 1):
            stopped = epoch
            break
    last = len(values) - 1 if stopped is None else stopped
    result = early_stopping.run(values, patience=patience, restore_best_weights=True)
    assert result == (stopped, int(np.argmin(values[:last + 1])))


@given(values=early_stopping_curves(), patience=st.integers(0, 4))
def test_max_mode_is_min_mode_of_the_negated_curve(values, patience):
    assert (early_stopping.run(values, mode="max", patience=patience, restore_best_weights=True)
            == early_stopping.run([-v for v in values], patience=patience, restore_best_weights=True))


def test_nan_is_never_an_improvement_not_even_the_first():
    # Keras would make the NaN of epoch 0 the best value and never improve again (docs/spec/early-stopping.md).
    result = early_stopping.run([math.nan, 2.0, 1.0, 1.0, 1.0], patience=2, restore_best_weights=True)
    assert result == (4, 2)


def test_baseline_stops_even_while_improving_unlike_keras():
    # every epoch improves on the last, none beats the baseline 0.5: nnspec stops at epoch 1 (patience 2);
    # Keras never stops on an improving epoch (FRAMEWORK_SEMANTICS 2.7, step 4).
    assert early_stopping.run([0.9, 0.8, 0.7], patience=2, baseline=0.5).stopped_epoch == 1


def test_patience_zero_behaves_as_one():
    assert early_stopping.run([1.0, 1.0, 0.0], patience=0) == early_stopping.run([1.0, 1.0, 0.0], patience=1)


def test_nothing_counted_restores_nothing():
    assert early_stopping.run([1.0, 0.5], start_from_epoch=5, restore_best_weights=True) == (None, 1)


def test_update_reports_improvement_and_stop_per_epoch():
    state = early_stopping.init()
    verdicts = []
    for value in [2.0, 1.0, 1.0, 3.0]:
        state = early_stopping.update(state, value, patience=2)
        verdicts.append((state.improved, state.wait, state.stop))
    assert verdicts == [(True, 0, False), (True, 0, False), (False, 1, False), (False, 2, True)]


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"mode": "auto"}, ValueError, r"early_stopping\.update: mode must be one of 'min', 'max', got 'auto'"),
    ({"min_delta": -0.1}, ValueError, r"min_delta must be in \[0\.0, inf\], got -0\.1"),
    ({"patience": 1.5}, ValueError, r"patience must be an int >= 0, got 1\.5"),
    ({"start_from_epoch": -1}, ValueError, r"start_from_epoch must be an int >= 0"),
    ({"baseline": math.inf}, ValueError, r"baseline must be finite"),
    ({"restore_best_weights": 1}, TypeError, r"early_stopping\.run: restore_best_weights must be a bool"),
])
def test_invalid_rules_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        early_stopping.run([1.0, 2.0], **kwargs)


def test_no_epochs_is_an_error():
    with pytest.raises(ValueError, match=r"early_stopping\.run: values must hold at least one"):
        early_stopping.run([])
