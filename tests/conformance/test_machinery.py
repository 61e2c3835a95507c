"""The suite's machinery: comparisons, dtype rounding, backend loading, the report and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnspec.adapters import load_backend
from nnspec.conformance.comparison import compare
from nnspec.conformance.errormodel import gamma
from nnspec.reference import dtypes


def test_compare_matches_nan_with_nan_and_inf_with_same_inf():
    inf, nan = np.inf, np.nan
    assert compare(np.array([nan, inf, -inf]), np.array([nan, inf, -inf]), np.zeros(3)).ratio == 0.0
    assert compare(np.array([inf]), np.array([-inf]), np.ones(1)).ratio == inf
    assert compare(np.array([nan]), np.array([0.0]), np.ones(1)).ratio == inf


def test_compare_reports_worst_element_and_shape_mismatch():
    comparison = compare(np.array([1.0, 5.0]), np.array([1.5, 1.0]), np.array([1.0, 2.0]))
    assert (comparison.ratio, comparison.index) == (2.0, (1,))
    assert compare(np.zeros(2), np.zeros(3), 1.0).ratio == np.inf


def test_compare_excuses_only_named_elements():
    observed, expected = np.array([np.nan, 2.0]), np.array([0.0, 1.0])
    excused = compare(observed, expected, np.ones(2), np.array([True, False]), ("issue",))
    assert excused.known == ("issue",) and excused.ratio == 1.0
    assert compare(observed, expected, np.ones(2), np.array([False, True]), ("issue",)).ratio == np.inf


def test_a_known_issue_mask_of_the_wrong_shape_is_named():
    """A per-element mask for a loss reduced to one number: the error names the issue and both shapes."""
    with pytest.raises(ValueError, match=r"known issue fw-bce: .* shape \(2,\), .* shape \(\)"):
        compare(np.array(1.0), np.array(1.0), np.array(0.1), np.array([True, False]), ("fw-bce",))


def test_gamma_is_the_classical_bound():
    u = dtypes.get("float32").unit_roundoff
    assert gamma(10, u) == pytest.approx(10 * u / (1 - 10 * u), rel=0, abs=0)
    assert gamma(2**25, u) == np.inf  # n u >= 1: no bound


@pytest.mark.parametrize(("value", "expected"), [
    (1.0 + 2.0**-8, 1.0),              # a tie rounds to even (down)
    (1.0 + 3 * 2.0**-8, 1.0 + 2.0**-6),  # a tie rounds to even (up)
    (1.0 + 2.0**-8 + 2.0**-20, 1.0 + 2.0**-7),  # above the tie rounds up
    (-3.0, -3.0),
])
def test_bfloat16_rounding_is_nearest_even(value, expected):
    assert float(dtypes.round_to(np.array(value), "bfloat16")) == expected


def test_load_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="load_backend: name must be one of"):
        load_backend("no-such-framework")
    with pytest.raises(ValueError, match="is not a subclass"):
        load_backend("nnspec.conformance.comparison:Comparison")


def test_run_writes_a_versioned_report_and_names_modules_canonically(tmp_path, nnspec_cli):
    run = nnspec_cli("run", "--backend", "reference", "--profile", "ci", "-k", "relu", "--report",
                     str(tmp_path), "--junit", str(tmp_path / "junit.xml"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["schema"] == "nnspec-report/2" and report["status"] == "complete"
    assert report["environment"]["backend"]["framework"] == "nnspec.reference"
    assert {c["primitive"] for c in report["cells"]} == {"relu", "leaky_relu"}
    assert all(c["outcome"] == "passed" for c in report["cases"] if "test_sweep" not in c["id"]), report["cases"]
    assert "nnspec conformance summary" in run.stdout
    assert report["levels"]["core-float64"] == "reached" and report["levels"]["optimizers"] == "not declared"
    summary = (tmp_path / "summary.md").read_text()
    assert "**core-float64**: reached" in summary and "| relu | passed 0 |" in summary
    import xml.etree.ElementTree as ElementTree

    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == len(report["cases"]) and not suite.findall(".//failure")


def test_many_shrunk_failures_suggest_no_shrink(tmp_path, nnspec_cli):
    """A framework author's first run against a slow framework spends most of its time shrinking: the run says
    how to get a first verdict faster, once it has shrunk several failures (and not when told not to shrink)."""
    run = ("run", "--backend", "nnspec.adapters.mutants:SoftmaxWithoutMaxShift", "--dtype", "float32",
           "-k", "softmax_rows_sum_to_one or rowwise_equal_huge_logits or rowwise_forward_matches_reference",
           "--jobs", "0")  # three of its tests fail (SHRINK_HINT)
    shrunk = nnspec_cli(*run, cwd=tmp_path)
    assert shrunk.returncode == 1 and "tests failed, each shrunk" in shrunk.stdout, shrunk.stdout[-3000:]
    assert "`--no-shrink`" in shrunk.stdout
    unshrunk = nnspec_cli(*run, "--no-shrink", cwd=tmp_path)
    assert unshrunk.returncode == 1 and "each shrunk" not in unshrunk.stdout


def test_run_with_nothing_selected_is_not_a_pass(tmp_path, nnspec_cli):
    run = nnspec_cli("run", "--backend", "reference", "-k", "no_test_has_this_name", cwd=tmp_path)
    assert run.returncode == 5 and "no test was selected" in run.stderr


def test_undeclared_dtype_is_a_usage_error_not_a_pass(tmp_path, nnspec_here):
    run = nnspec_here("run", "--backend", "reference", "--dtype", "bfloat16", "-k", "relu", "--report", str(tmp_path),
                     cwd=tmp_path)
    assert run.returncode == 4, run.stdout[-2000:] + run.stderr[-2000:]
    assert "does not declare bfloat16" in run.stdout + run.stderr
    assert not (tmp_path / "report.json").exists()


def test_bfloat16_rounds_once_not_through_float32():
    value = 1.0 + 2.0**-8 + 2.0**-30  # float32 would round this to the tie 1 + 2**-8, then to 1.0
    assert float(dtypes.round_to(np.array(value), "bfloat16")) == 1.0 + 2.0**-7
