"""ci/profile_families.py charges each py-spy sample to what the test was doing (docs/benchmarks.md#per-example-cost).

The samples below are written by hand in py-spy's raw format (collapsed stacks, root first, then a count), so
each test states which frame decides; no profiler runs here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_RUNNER = ("main (_pytest/config/__init__.py:199);pytest_runtest_call (_pytest/runner.py:179);"
           "accept.<locals>.test_x (conformance/test_activations.py:25);"
           "wrapped_test (hypothesis/core.py:2212);execute_once (hypothesis/core.py:1137)")
_BODY = _RUNNER + ";test_x (conformance/test_activations.py:26)"


def _module():
    spec = importlib.util.spec_from_file_location("nnspec_ci_profile_families",
                                                  ROOT / "ci" / "profile_families.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _frames(stack: str) -> list[tuple[str, str]]:
    module = _module()
    return [(m["func"], m["file"]) for m in map(module._FRAME.match, stack.split(";"))]


@pytest.mark.parametrize(("below", "category"), [
    ("draw (hypothesis/strategies/_internal/core.py:2394);activation_inputs (conformance/strategies/activations.py:18)",
     "generation"),
    ("forward (conformance/checker.py:211);forward (conformance/checks.py:46);_call (conformance/guard.py:226);"
     "forward (adapters/torch/backend.py:110);gelu (torch/nn/functional.py:1)", "backend"),
    ("forward (conformance/checker.py:211);forward (conformance/checks.py:46);"
     "forward (reference/activations/gelu.py:30)", "reference"),
    ("vjp_oracle (conformance/checks.py:82);derivatives (conformance/oracles/activations.py:260)", "oracle"),
    ("forward (conformance/checker.py:211);bound (conformance/activations/gelu.py:12);"
     "forward (reference/activations/gelu.py:30)", "budget"),
    ("forward (conformance/checker.py:211);compare (conformance/comparison.py:59)", "compare"),
    ("forward (conformance/checker.py:211);_call (conformance/guard.py:226);copy (numpy/_core/multiarray.py:1)",
     "contract"),
    ("forward (conformance/checker.py:211);raising (conformance/excuses.py:40)", "excuses"),
    ("forward (conformance/checker.py:211);asarray (numpy/_core/numeric.py:1)", "bookkeeping"),
])
def test_the_first_telling_frame_below_the_body_decides(below, category):
    assert _module()._category(_frames(_BODY + ";" + below)) == category


def test_outside_the_body_is_engine_or_given_arguments():
    module = _module()
    assert module._category(_frames(_RUNNER + ";seed_all (hypothesis/internal/entropy.py:200)")) == "engine"
    given = _RUNNER + ";draw (hypothesis/strategies/_internal/core.py:1)"
    assert module._category(_frames(given)) == "generation"


def test_start_up_and_collection_are_not_charged():
    stack = "main (cli/cli.py:386);_run (cli/cli.py:197);<module> (torch/__init__.py:1)"
    assert _module()._category(_frames(stack)) is None


def test_samples_are_counted_per_family(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text(f"{_BODY};compare (conformance/comparison.py:59) 3\n"
                   f"{_BODY.replace('test_activations', 'test_losses')};forward (adapters/torch/backend.py:1) 2\n"
                   "main (cli/cli.py:386) 7\n")
    counts = _module()._samples(raw)
    assert counts == {("activations", "compare"): 3, ("losses", "backend"): 2}
