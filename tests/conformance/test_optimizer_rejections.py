"""An optimizer that lacks options: declared fixed hyperparameters are drawn at their declared value, and a test
whose every draw the backend rejects is reported unsupported with the rejections counted (never passed, never an
error): adapters/mutants_rejections.py."""

from __future__ import annotations

import json

_ADAM = "optimizer and adam and not adamw and not adamax and not nadam"
_MUTANTS = "nnspec.adapters.mutants_rejections"


def _cases(nnspec_cli, tmp_path, backend: str, keyword: str) -> tuple[int, dict[str, dict]]:
    done = nnspec_cli("run", "--backend", f"{_MUTANTS}:{backend}", "--dtype", "float32", "--profile", "ci",
                      "-k", keyword, "--jobs", "0", "--report", str(tmp_path / "report"), cwd=tmp_path)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    return done.returncode, {case["test"]: case for case in report["cases"]}


def test_declared_fixed_hyperparameters_are_drawn_at_their_value(nnspec_cli, tmp_path):
    code, cases = _cases(nnspec_cli, tmp_path, "AdamWithoutDecayOrAmsgrad", _ADAM)
    assert code == 0, cases
    for test in ("test_optimizer_steps_match_reference", "test_optimizer_trajectory_matches_reference",
                 "test_optimizer_every_term_matters", "test_optimizer_nan_gradient"):
        assert cases[test]["outcome"] == "passed" and cases[test]["rejected"] == 0, cases[test]
    assert cases["test_optimizer_steps_match_reference"]["examples"] > 0


def test_a_test_whose_every_draw_is_rejected_is_unsupported_and_counted(nnspec_cli, tmp_path):
    code, cases = _cases(nnspec_cli, tmp_path, "AdamRejectsEverything",
                         f"({_ADAM}) or (test_elementwise_forward_matches_reference and relu)")
    assert code == 0, cases
    for test in ("test_optimizer_steps_match_reference", "test_optimizer_trajectory_matches_reference"):
        case = cases[test]
        assert case["outcome"] == "unsupported" and case["rejected"] > 0, case
        assert "rejected all" in case["message"] and "adam: not this one" in case["message"], case
    assert cases["test_optimizer_every_term_matters"]["outcome"] == "unsupported"
    assert cases["test_elementwise_forward_matches_reference"]["outcome"] == "passed"
