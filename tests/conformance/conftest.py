"""Helpers for the tests that drive the real command line (`python -m nnspec ...`) in a subprocess."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest


def run_nnspec(*args: str, cwd) -> subprocess.CompletedProcess:
    """`python -m nnspec ARGS` in ``cwd``, output captured."""
    return subprocess.run([sys.executable, "-m", "nnspec", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture
def nnspec_cli():
    """The command line, as a function: ``nnspec_cli("run", "--backend", ..., cwd=path)``."""
    return run_nnspec


@pytest.fixture
def failing_run(tmp_path):
    """``failing_run(*run_args)``: `nnspec run RUN_ARGS --report DIR` must exit 1; returns the failed cases of
    its report.json (each with its message and replay command)."""

    def run(*args: str) -> list[dict]:
        done = run_nnspec("run", *args, "--report", str(tmp_path / "report"), cwd=tmp_path)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        report = json.loads((tmp_path / "report" / "report.json").read_text())
        failed = [case for case in report["cases"] if case["outcome"] == "failed"]
        assert failed, report["cases"]
        return failed

    return run


@pytest.fixture
def planted_bug_fails(tmp_path, failing_run):
    """``planted_bug_fails(mutant, keyword, primitive, dtype="float32")``: the mutant backend
    ``nnspec.adapters.mutants:<mutant>`` fails the tests selected by ``keyword`` (in ``dtype``, ci profile); the
    first failure's message names the primitive, the dtype, the input and the error/budget; and its replay
    command reproduces the failure."""

    def check(mutant: str, keyword: str, primitive: str, dtype: str = "float32", *extra: str) -> None:
        backend = f"nnspec.adapters.mutants:{mutant}"
        case = failing_run("--backend", backend, "--dtype", dtype, "--profile", "ci", "-k", keyword, *extra)[0]
        message = case["message"]
        assert case["primitive"] == primitive and case["dtype"] == dtype, case
        for fragment in (f" {dtype} {primitive} ", "inputs: ", "error/budget", "replay this case: nnspec replay "):
            assert fragment in message, message
        replay = run_nnspec(*shlex.split(case["replay"])[1:], cwd=tmp_path)
        assert replay.returncode == 1 and "FAIL" in replay.stdout, replay.stdout + replay.stderr

    return check
