"""Planted NaN bugs: a torch backend that turns NaN into a number must fail the NaN tests of the real command line.

Each case runs `nnspec run --backend nnspec.adapters.mutants_nan:<mutant> --profile ci -k nan` in a subprocess
and asserts a non-zero exit and a failure that names the primitive whose NaN was swallowed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

MUTANTS = [
    # (class in nnspec.adapters.mutants_nan, -k expression, a primitive that must fail)
    ("ReluNanIsZero", "nan and relu and not leaky", "relu"),
    ("SoftmaxSwallowsNan", "nan and (softmax or log_softmax) and not probs", "softmax"),
    ("SoftmaxSwallowsNan", "nan and softmax_cross_entropy", "softmax_cross_entropy"),
]


@pytest.mark.parametrize(("mutant", "keyword", "primitive"), MUTANTS,
                         ids=[f"{m[0]}-{m[2]}" for m in MUTANTS])
def test_swallowed_nan_fails(failing_run, mutant, keyword, primitive):
    failed = failing_run("--backend", f"nnspec.adapters.mutants_nan:{mutant}", "--dtype", "float32",
                         "--profile", "ci", "-k", keyword)
    named = [case for case in failed if case["primitive"] == primitive]
    assert named, [case["primitive"] for case in failed]
    assert all("nan" in case["test"] for case in failed), [case["test"] for case in failed]
    message = named[0]["message"]
    assert f" float32 {primitive} " in message and "nan" in message, message


def test_unmodified_torch_passes_the_same_selection(nnspec_cli, tmp_path):
    """The same tests pass on torch itself, so the failures above are the planted bugs' (relu's NaN gradient is
    excused by its declared known issue, counted in the report)."""
    run = nnspec_cli("run", "--backend", "torch", "--dtype", "float32", "--profile", "ci", "-k",
                     "nan and (relu or softmax) and not leaky", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
