"""Distinct failures by hyperparameter variant (issue 13, item 5): an Adam that is wrong with AMSGrad and,
separately, with weight decay reports both, each with its variant, its own case file and a replay that fails.

Spec: docs/report-schema.md#distinct-failures
"""

from __future__ import annotations

import pickle
import shlex
import sys

import pytest

from nnspec.conformance.checker import BudgetExceeded, DistinctFailures, failure_key
from nnspec.conformance.session import Record
from nnspec.conformance.variants import variant

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:  # pragma: no cover - Hypothesis installs the backport on Python 3.10
    from exceptiongroup import ExceptionGroup

MUTANT = "nnspec.adapters.mutants_variants:AdamTwoVariantBugs"
ADAM_STEPS = "steps_match_reference and adam and not adamw and not adamax and not nadam"


def _adam(**hyper) -> dict:
    full = {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, **hyper}
    return {"primitive": "adam", "params": {"optimizer": "adam", "hyper": full}}


@pytest.mark.parametrize(("case", "expected"), [
    (_adam(), ""),
    (_adam(amsgrad=True), "amsgrad"),
    (_adam(weight_decay=0.1, amsgrad=True), "amsgrad, weight_decay>0"),
    ({"primitive": "sgd", "params": {"optimizer": "sgd", "hyper": {"lr": 0.1, "momentum": 0.9, "dampening": 0.0,
                                                                   "weight_decay": 0.0, "nesterov": True}}},
     "momentum>0, nesterov"),
    ({"primitive": "rmsprop", "params": {"optimizer": "rmsprop", "hyper": {"alpha": 0.5, "centered": True}}},
     "centered"),
    ({"primitive": "leaky_relu", "params": {"negative_slope": 0.2}}, ""),
    ({"primitive": "leaky_relu", "params": {"negative_slope": -0.2}}, "negative_slope<0"),
    ({"primitive": "leaky_relu", "params": {"negative_slope": 0.0}}, "negative_slope=0"),
    ({"primitive": "mean_squared_error", "params": {"reduction": "sum"}}, ""),
    ({"primitive": "softmax_cross_entropy", "params": {"reduction": "none", "label_smoothing": 0.25}},
     "label_smoothing>0"),
    ({"primitive": "network", "params": {"loss": "mse", "reduction": "mean", "activations": ["relu"]}}, ""),
    ({"primitive": "something_new", "params": {"flag": True, "off": False, "scale": 2.0, "zero": 0, "n": None}},
     "flag, scale>0"),
    ({"primitive": "dropout", "params": {"p": 0.5, "x": "statistical_input(x_seed)", "x_seed": 3, "n calls": 2}},
     "p>0"),
    ({"primitive": "relu"}, ""),
])
def test_variant_names_the_options_a_case_switches_on(case, expected):
    assert variant(case) == expected


def test_each_class_and_variant_has_its_own_exception_type_that_pickles():
    amsgrad = BudgetExceeded.for_class("normal", "amsgrad")
    assert amsgrad is BudgetExceeded.for_class("normal", "amsgrad")  # one type per key: Hypothesis' bucket
    assert issubclass(amsgrad, BudgetExceeded.for_class("normal")) and amsgrad.input_class == "normal"
    others = {BudgetExceeded.for_class("normal"), BudgetExceeded.for_class("huge", "amsgrad"),
              BudgetExceeded.for_class("normal", "weight_decay>0")}
    assert amsgrad not in others and len(others) == 3
    copy = pickle.loads(pickle.dumps(amsgrad("message")))
    assert type(copy) is amsgrad and copy.args == ("message",) and failure_key(copy) == ("normal", "amsgrad")


def test_a_record_keeps_one_failure_per_class_and_variant():
    record = Record("t::x", "test_x", "float32")
    record.add_failure("normal", "wd (shrinking)", "", "weight_decay>0")
    record.add_failure("normal", "amsgrad", "nnspec replay a.json", "amsgrad")
    record.add_failure("normal", "wd (minimal)", "nnspec replay w.json", "weight_decay>0")
    record.add_failure("huge", "plain", "", "")
    raised = DistinctFailures("2", [BudgetExceeded.for_class("normal", "weight_decay>0")("a"),
                                    BudgetExceeded.for_class("normal", "amsgrad")("b")])
    record.keep_failures(ExceptionGroup("Hypothesis found 2 distinct failures.", [raised]))
    assert [(f["class"], f["variant"], f["message"]) for f in record.failures] == [
        ("normal", "amsgrad", "amsgrad"), ("normal", "weight_decay>0", "wd (minimal)")]
    assert (record.message, record.replay) == ("amsgrad", "nnspec replay a.json")


def test_adam_wrong_in_two_variants_reports_both_each_replayable(failing_run, nnspec_here, tmp_path):
    (case,) = failing_run("--backend", MUTANT, "--dtype", "float32", "--profile", "ci", "-k", ADAM_STEPS)
    assert case["primitive"] == "adam" and case["dtype"] == "float32"
    variants = {f["variant"] for f in case["failures"]}
    assert {"amsgrad", "weight_decay>0"} <= variants, case["failures"]  # both alone; together may show too
    assert len({f["replay"] for f in case["failures"]}) == len(case["failures"])  # a case file each
    for failure in case["failures"]:
        assert f"(input class {failure['class']}) with {failure['variant']}\n" in failure["message"]
        replay = nnspec_here(*shlex.split(failure["replay"])[1:], cwd=tmp_path)
        assert replay.returncode == 1 and "FAIL" in replay.stdout, replay.stdout + replay.stderr
    page = (tmp_path / "report" / "report.html").read_text()
    assert "with amsgrad</h4>" in page and "with weight_decay&gt;0</h4>" in page


def test_real_torch_adam_passes_the_same_selection(nnspec_cli, tmp_path):
    done = nnspec_cli("run", "--backend", "torch", "--dtype", "float32", "--profile", "ci", "-k", ADAM_STEPS,
                      "--jobs", "0", "--report", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
