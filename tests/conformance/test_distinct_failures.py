"""Distinct failures of one test are all reported (issue 13, item 5: "one shrunk failure per cell hides distinct
bugs"): one per input class of the failing input, each with its own message, case file and replay command.

Spec: docs/report-schema.md#distinct-failures
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from nnspec.conformance import sweep
from nnspec.conformance.checker import BudgetExceeded, DistinctFailures, input_class
from nnspec.conformance.guard import BackendError, BackendTimeout
from nnspec.conformance.session import Record, _outcome_of
from nnspec.reference import dtypes

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:  # pragma: no cover - Hypothesis installs the backport on Python 3.10
    from exceptiongroup import ExceptionGroup

FAULTS = "nnspec.adapters.mutants_faults"
SPECIAL_POINTS = "test_elementwise_special_points and gelu and not tanh"


def _run(nnspec_cli, tmp_path, fault: str, keyword: str):
    done = nnspec_cli("run", "--backend", f"{FAULTS}:{fault}", "--dtype", "float32", "--jobs", "0", "--profile",
                      "ci", "-k", keyword, "--report", str(tmp_path / "report"), cwd=tmp_path)
    return done, json.loads((tmp_path / "report" / "report.json").read_text())


def _failed(report) -> dict:
    (case,) = [case for case in report["cases"] if case["outcome"] == "failed"]
    return case


def test_every_input_class_has_one_exception_type():
    assert [BudgetExceeded.for_class(name).input_class for name in sweep.CLASSES] == list(sweep.CLASSES)
    assert len({BudgetExceeded.for_class(name) for name in sweep.CLASSES}) == len(sweep.CLASSES)


@pytest.mark.parametrize(("values", "expected"), [
    ([-np.inf], "special"), ([np.nan, 1.0], "special"), ([0.0], "special"), ([1e-45], "subnormal"),
    ([2.0 ** -126], "tiny normal"), ([-100.0], "normal"), ([np.finfo(np.float32).max / 16], "huge"),
    ([np.finfo(np.float32).max / 17], "normal"), ([1.0, -3e38], "huge"),
])
def test_input_class_of_float32_inputs(values, expected):
    assert input_class(np.array(values), dtypes.FORMATS["float32"]) == expected


def test_gelu_with_two_bugs_reports_each_class_with_a_replay(nnspec_cli, tmp_path):
    """NaN for x <= -40 (so at -inf and at -100) and x / 2 at the largest floats: one example of special points
    fails in three classes, and each is reported with its own case file, whose replay fails again."""
    done, report = _run(nnspec_cli, tmp_path, "GeluTwoBugs", SPECIAL_POINTS)
    assert done.returncode == 1, done.stdout[-2000:]
    case = _failed(report)
    assert [f["class"] for f in case["failures"]] == ["special", "normal", "huge"]
    assert (case["message"], case["replay"]) == (case["failures"][0]["message"], case["failures"][0]["replay"])
    observed = {"special": "observed nan", "normal": "observed nan", "huge": "observed nan"}  # -inf, -100, -max
    files = set()
    for failure in case["failures"]:
        assert f"(input class {failure['class']})" in failure["message"]
        assert observed[failure["class"]] in failure["message"], failure["message"]
        files.add(failure["replay"].split()[2])
        replay = nnspec_cli(*failure["replay"].split()[1:], cwd=tmp_path)
        assert replay.returncode == 1 and "output: FAIL" in replay.stdout, replay.stdout[-2000:]
        assert failure["replay"] in done.stdout  # the terminal lists every distinct failure
    assert len(files) == 3 and all(name.endswith(("-special.json", "-normal.json", "-huge.json")) for name in files)
    summary = (tmp_path / "report" / "summary.md").read_text()
    page = (tmp_path / "report" / "report.html").read_text()
    assert "3 distinct failures" in summary and summary.count("input class") >= 3
    assert "3 distinct failures" in page and all(f"failure: {c}</h4>" in page for c in observed)


def test_gelu_with_one_bug_reports_one_failure(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "GeluInfWhenHuge", SPECIAL_POINTS)
    assert done.returncode == 1
    case = _failed(report)
    assert [f["class"] for f in case["failures"]] == ["huge"] and "observed 1.7014" in case["message"]
    assert len(list((tmp_path / "report" / "failures").glob("*.json"))) == 1


class _Info:
    """What pytest's ExceptionInfo offers _outcome_of."""

    def __init__(self, error: BaseException) -> None:
        self.value = error

    def errisinstance(self, kind) -> bool:
        return isinstance(self.value, kind)


@pytest.mark.parametrize(("inner", "outcome"), [
    ([BudgetExceeded.for_class("huge")("x"), BackendTimeout("slow")], "timeout"),
    ([BudgetExceeded.for_class("huge")("x"), BackendError("raised")], "error"),
    ([BackendError("raised"), BackendTimeout("slow")], "timeout"),
    ([BudgetExceeded.for_class("huge")("x"), BudgetExceeded.for_class("special")("y")], "failed"),
])
def test_a_group_of_failures_takes_the_worst_outcome(inner, outcome):
    assert _outcome_of(_Info(ExceptionGroup("Hypothesis found 2 distinct failures.", inner))) == outcome
    assert _outcome_of(_Info(ExceptionGroup("outer", [ExceptionGroup("inner", inner)]))) == outcome


def test_a_record_keeps_only_the_failures_finally_raised_first_class_first():
    record = Record("t::x", "test_x", "float32")
    for label in ("normal", "huge", "tiny normal", "special"):
        record.add_failure(label, f"{label} (shrinking)", "")
    record.add_failure("huge", "huge (minimal)", "nnspec replay huge.json")
    raised = DistinctFailures("2", [BudgetExceeded.for_class("huge")("a"), BudgetExceeded.for_class("normal")("b")])
    record.keep_failures(ExceptionGroup("Hypothesis found 2 distinct failures.", [raised]))
    assert [f["class"] for f in record.failures] == ["normal", "huge"]
    assert record.failures[1]["message"] == "huge (minimal)"
    assert (record.message, record.replay) == ("normal (shrinking)", "")
