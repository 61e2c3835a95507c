"""Helpers for the tests that drive the real command line (`python -m nnspec ...`) in a subprocess, and for the
commands that need no process of their own (a replay, a usage error found before pytest starts), in this one.

Speed (the own tests run in CI before five `nnspec run`s): a run whose test needs no process isolation runs with
``--jobs 0`` (pytest in the `nnspec run` process itself, as `failing_run` does), which saves a second interpreter
and its imports per run; the xdist path (``--jobs`` >= 1: crashes, hangs, SIGTERM) keeps its own tests
(test_faulty_backends.py, test_machinery.py). A replay or a refused run is called in this process through
``nnspec.cli.main``: the same code as ``python -m nnspec``, without an interpreter and a torch import each time.
"""

from __future__ import annotations

import json
import os
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
def nnspec_here(monkeypatch, capsys):
    """``nnspec_here(*args, cwd=path)``: ``nnspec.cli.main(ARGS)`` in this process, in ``cwd``, with its exit
    status and output as a CompletedProcess; for commands that start no pytest run (``replay``, a ``run`` refused
    before it starts). What the command changes for later calls (sys.path, PYTHONPATH, the directory) is undone."""
    from nnspec.cli import main

    def call(*args: str, cwd) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))  # restored (or removed) afterwards
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["nnspec", *args], code, out, err)

    return call


@pytest.fixture
def failing_run(tmp_path):
    """``failing_run(*run_args)``: `nnspec run RUN_ARGS --report DIR` (``--jobs 0`` unless RUN_ARGS name --jobs)
    must exit 1; returns the failed cases of its report.json (each with its message and replay command)."""

    def run(*args: str) -> list[dict]:
        jobs = () if "--jobs" in args else ("--jobs", "0")
        done = run_nnspec("run", *args, *jobs, "--report", str(tmp_path / "report"), cwd=tmp_path)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        report = json.loads((tmp_path / "report" / "report.json").read_text())
        failed = [case for case in report["cases"] if case["outcome"] == "failed"]
        assert failed, report["cases"]
        return failed

    return run


@pytest.fixture
def planted_bug_fails(tmp_path, failing_run, nnspec_here):
    """``planted_bug_fails(mutant, keyword, primitive, dtype="float32")``: the mutant backend
    ``nnspec.adapters.mutants:<mutant>`` fails the tests selected by ``keyword`` (in ``dtype``, ci profile); the
    first failure's message names the primitive, the dtype, the input and the error/budget; and its replay
    command reproduces the failure. Returns that failed case."""

    def check(mutant: str, keyword: str, primitive: str, dtype: str = "float32", *extra: str) -> dict:
        backend = f"nnspec.adapters.mutants:{mutant}"
        case = failing_run("--backend", backend, "--dtype", dtype, "--profile", "ci", "-k", keyword, *extra)[0]
        message = case["message"]
        assert case["primitive"] == primitive and case["dtype"] == dtype, case
        for fragment in (f" {dtype} {primitive} ", "inputs: ", "error/budget", "replay this case: nnspec replay "):
            assert fragment in message, message
        replay = nnspec_here(*shlex.split(case["replay"])[1:], cwd=tmp_path)
        assert replay.returncode == 1 and "FAIL" in replay.stdout, replay.stdout + replay.stderr
        return case

    return check


#: The topics whose test files (tests/conformance/test_*_bugs.py) also check the real frameworks' outcomes: one
#: `ci` run per backend in float32 covers them all (instead of one per topic and backend: 18 runs, ~3 minutes).
REAL_RUN_TOPICS = ("loss_options", "gradient_clipping", "initializer", "dense_default_init", "class_loss", "nll_loss",
                   "smoothing_skips", "layer_norm", "batch_norm", "schedule")


@pytest.fixture(scope="session")
def real_run(tmp_path_factory):
    """``real_run(backend, keyword)``: the cases whose test id contains one of the words of ``keyword`` ("a or
    b") in `nnspec run --backend BACKEND --dtype float32 --profile ci -k <every topic of REAL_RUN_TOPICS>`, run
    once per backend (and xdist worker), which must exit 0."""
    runs: dict[str, list[dict]] = {}

    def cases(backend: str, keyword: str) -> list[dict]:
        if backend not in runs:
            folder = tmp_path_factory.mktemp(f"real-{backend}")
            done = run_nnspec("run", "--backend", backend, "--dtype", "float32", "--profile", "ci", "-k",
                              " or ".join(REAL_RUN_TOPICS), "--jobs", "0", "--report", str(folder / "r"), cwd=folder)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            runs[backend] = json.loads((folder / "r" / "report.json").read_text())["cases"]
        words = [word.strip() for word in keyword.split(" or ")]
        return [case for case in runs[backend] if any(word in case["id"] for word in words)]

    return cases
