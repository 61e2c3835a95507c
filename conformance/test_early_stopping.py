"""Early stopping on scripted loss curves: the exact epoch after which training stops and the epoch whose
weights the model holds at the end, against the reference's rules.

Spec: docs/spec/early-stopping.md
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

from nnspec.conformance import training_checks
from nnspec.conformance.strategies.training import SCRIPTED_CURVES, early_stopping_curves, early_stopping_rules

SPEC = "docs/spec/early-stopping.md"


def _check(checker, values, rules, anchor):
    comparisons = training_checks.early_stopping_run(checker.backend, values, rules)
    checker.expect(comparisons, {"kind": "early_stopping", "primitive": "early_stopping",
                                 "arrays": {"losses": np.asarray(values, dtype=np.float64)},
                                 "params": {"rules": dict(rules), "stopped epoch -1": "every epoch ran"},
                                 "spec": f"{SPEC}#{anchor}"})


def _scripted(checker, name, anchor):
    values, rules, _, _ = SCRIPTED_CURVES[name]
    _check(checker, values, rules, anchor)


@given(values=early_stopping_curves(), rules=early_stopping_rules())
def test_early_stopping_matches_reference(checker, values, rules):
    checker.require("early_stopping", "stop and restored epochs", feature="early_stopping")
    _check(checker, values, rules, "rules")


def test_early_stopping_counts_patience_in_non_improving_epochs(checker):
    checker.require("early_stopping", "patience", feature="early_stopping")
    _scripted(checker, "patience", "rules")


def test_early_stopping_improvement_is_strict_beyond_min_delta(checker):
    checker.require("early_stopping", "min_delta", feature="early_stopping")
    _scripted(checker, "min_delta", "rules")


def test_early_stopping_restores_best_weights_when_epochs_run_out(checker):
    checker.require("early_stopping", "restore at the last epoch", feature="early_stopping")
    _scripted(checker, "runs_out", "restoring")


def test_early_stopping_baseline_must_be_beaten(checker):
    checker.require("early_stopping", "baseline", feature="early_stopping")
    _scripted(checker, "baseline", "rules")


def test_early_stopping_ignores_epochs_before_start(checker):
    checker.require("early_stopping", "start_from_epoch", feature="early_stopping")
    _scripted(checker, "start_from_epoch", "rules")


def test_early_stopping_max_mode(checker):
    checker.require("early_stopping", "mode max", feature="early_stopping")
    _scripted(checker, "max_mode", "rules")


def test_early_stopping_keeps_last_weights_without_restore(checker):
    checker.require("early_stopping", "no restore", feature="early_stopping")
    _scripted(checker, "no_restore", "restoring")
