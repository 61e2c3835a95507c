"""`nnspec compare OLD NEW`: a planted regression between two reports fails the comparison and names the cell."""

from __future__ import annotations

import json

from nnspec.conformance import compare


def _report(cells: dict[tuple[str, str], tuple[str, float]], version: str = "1.0", status: str = "complete") -> dict:
    return {"schema": "nnspec-report/2", "status": status,
            "options": {"backend": "fw"}, "environment": {"backend": {"version": version}},
            "cells": [{"primitive": p, "dtype": d, "status": s, "worst_ratio": r, "known_issues": []}
                      for (p, d), (s, r) in cells.items()],
            "cases": [{"primitive": p, "dtype": d, "outcome": s, "message": f"{p} {d}: broken"}
                      for (p, d), (s, r) in cells.items()]}


OLD = _report({("relu", "float32"): ("passed", 0.0), ("tanh", "float32"): ("passed", 0.02),
               ("gelu", "float16"): ("failed", 3.0), ("adam", "float32"): ("passed", 0.1)})


def test_planted_regression_fails_and_names_the_cell(tmp_path, nnspec_here):
    new = _report({("relu", "float32"): ("failed", 7.0), ("tanh", "float32"): ("passed", 0.5),
                   ("gelu", "float16"): ("passed", 0.3), ("adam", "float32"): ("unsupported", 0.0)}, "1.1")
    (tmp_path / "old.json").write_text(json.dumps(OLD))
    (tmp_path / "new.json").write_text(json.dumps(new))
    done = nnspec_here("compare", "old.json", "new.json", "--markdown", "diff.md", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "| **regression** | relu | float32 | passed | failed | relu float32: broken |" in done.stdout
    kinds = {(c.kind, c.primitive) for c in compare.compare(OLD, new)}
    assert kinds == {("regression", "relu"), ("drift", "tanh"), ("fixed", "gelu"), ("now unsupported", "adam")}
    assert (tmp_path / "diff.md").read_text() == done.stdout.rstrip("\n") + "\n"


def test_identical_reports_compare_clean(tmp_path, nnspec_here):
    (tmp_path / "a.json").write_text(json.dumps(OLD))
    done = nnspec_here("compare", "a.json", "a.json", cwd=tmp_path)
    assert done.returncode == 0 and "0 regression(s)" in done.stdout


def test_a_passed_cell_that_is_now_only_excused_or_missing_is_a_regression():
    new = _report({("relu", "float32"): ("excused", 0.0), ("gelu", "float16"): ("failed", 3.0),
                   ("adam", "float32"): ("passed", 0.1)})
    kinds = {(c.kind, c.primitive) for c in compare.compare(OLD, new)}
    assert kinds == {("regression", "relu"), ("regression", "tanh")}


def test_an_interrupted_report_is_refused(tmp_path, nnspec_here):
    (tmp_path / "a.json").write_text(json.dumps(OLD))
    (tmp_path / "b.json").write_text(json.dumps({**OLD, "status": "interrupted"}))
    done = nnspec_here("compare", "a.json", "b.json", cwd=tmp_path)
    assert done.returncode == 4 and "the run was interrupted" in done.stderr
