"""The verdict survives faulty backends (issue: "a green run must mean conformant").

Each test plants one fault (nnspec.adapters.mutants_faults, all built on the reference backend, so no framework
is needed) or one bad request, runs the real command line, and asserts the verdict: the exit status, the named
outcome, and a report whose status says how complete it is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

FAULTS = "nnspec.adapters.mutants_faults"


def _run(nnspec_cli, tmp_path, *args: str):
    """`nnspec run ARGS --profile ci --report DIR` (in one process unless ARGS name --jobs: faster) and its report."""
    jobs = () if "--jobs" in args else ("--jobs", "0")
    done = nnspec_cli("run", *args, *jobs, "--profile", "ci", "--report", str(tmp_path / "report"), cwd=tmp_path)
    path = tmp_path / "report" / "report.json"
    return done, (json.loads(path.read_text()) if path.exists() else None)


def _cases(report, outcome: str) -> list[dict]:
    return [case for case in report["cases"] if case["outcome"] == outcome]


@pytest.mark.parametrize(("fault", "keyword", "dtype", "says"), [
    ("SoftplusClipsItsInput", "softplus and forward_matches", "float64", "write into an input array"),
    ("ReluZeroesItsInput", "relu and forward_matches and not leaky", "float64", "write into an input array"),
    ("Float16ComputedInFloat64", "leaky_relu and forward_matches", "float16", "is not a float16 number"),
])
def test_contract_breach_fails_with_pristine_inputs(nnspec_cli, nnspec_here, tmp_path, fault, keyword, dtype, says):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:{fault}", "--dtype", dtype, "-k", keyword)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    failed = _cases(report, "failed")
    assert failed and says in failed[0]["message"], report["cases"]
    case = json.loads((tmp_path / "report" / "failures" / os.listdir(tmp_path / "report" / "failures")[0])
                      .read_text())
    assert case["arrays"]["x"]["hex"], case  # the pristine input was saved, and it replays to the same failure
    replay = nnspec_here(*failed[0]["replay"].split()[1:], cwd=tmp_path)
    assert replay.returncode == 1 and says in replay.stdout, replay.stdout + replay.stderr


def test_torch_writing_through_a_read_only_array_is_caught(nnspec_cli, tmp_path):
    pytest.importorskip("torch")
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:TorchSigmoidInPlace", "--dtype", "float64",
                        "-k", "sigmoid and forward_matches")
    assert done.returncode == 1
    failed = _cases(report, "failed")
    assert failed and "modified its input x" in failed[0]["message"], report["cases"]
    assert "inputs: x=[0.]" not in failed[0]["message"] or "sigmoid" in failed[0]["message"]


@pytest.mark.parametrize(("fault", "outcome", "says"), [
    ("ReluRaises", "error", "raised RuntimeError: relu kernel"),
    ("ReluHangs", "timeout", "ran past the 2 s limit"),
    ("ReluAborts", "crashed", "process died"),
    ("ReluExits", "crashed", "process died"),
])
def test_failing_process_gives_a_verdict_and_the_run_goes_on(nnspec_cli, tmp_path, fault, outcome, says):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:{fault}", "--dtype", "float64",
                        "--call-timeout", "2", "--jobs", "1", "-k", "forward_matches and relu")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert report["status"] == "complete" and report["exit_status"] == 1
    hit = [case for case in report["cases"] if case["primitive"] == "relu"]
    assert hit and all(case["outcome"] == outcome for case in hit), report["cases"]
    assert says in hit[0]["message"] and " float64 relu" in hit[0]["message"], hit[0]["message"]
    assert [case["outcome"] for case in report["cases"] if case["primitive"] == "leaky_relu"] == ["passed"]


def test_a_hard_hang_is_stopped_by_the_per_test_limit(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:ReluHangs", "--dtype", "float64",
                        "--call-timeout", "0", "--test-timeout", "4", "--jobs", "1", "-k", "forward_matches and relu")
    assert done.returncode == 1
    assert [case["outcome"] for case in report["cases"] if case["primitive"] == "relu"] == ["timeout"]


def test_sigterm_writes_an_interrupted_report(tmp_path):
    """SIGTERM (what `timeout` and a CI cancel send) acts as Ctrl-C: a report marked interrupted, the hanging test
    "interrupted", the tests that never started "not run", and a non-zero exit."""
    run = subprocess.Popen([sys.executable, "-m", "nnspec", "run", "--backend", f"{FAULTS}:ReluHangs",
                            "--call-timeout", "0", "--dtype", "float64", "-k", "relu", "--report",
                            str(tmp_path / "report")], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(run.stdout.readline, b"")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any(b" items]" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the worker has collected and starts the tests (the first relu test hangs)
    time.sleep(3)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=120)
    reader.join(timeout=10)
    output = b"".join(lines).decode()
    assert run.returncode == 2, output[-2000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["status"] == "interrupted" and report["exit_status"] == 2, output[-2000:]
    outcomes = [case["outcome"] for case in report["cases"]]
    assert outcomes.count("interrupted") == 1 and "not run" in outcomes, outcomes


def test_whole_cell_excused_is_not_passed(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:ReluWrongButExcused", "--dtype", "float32",
                        "-k", "forward_matches and relu")
    assert done.returncode == 0, done.stdout[-2000:]
    relu = [case for case in report["cases"] if case["primitive"] == "relu"]
    assert [case["outcome"] for case in relu] == ["excused"], relu
    assert relu[0]["excused_examples"] == relu[0]["examples"] > 0
    assert "excused" in done.stdout
    assert [cell["status"] for cell in report["cells"] if cell["primitive"] == "relu"] == ["excused"]


def test_rejected_draws_are_counted(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:AdamRejectsAmsgrad", "--dtype", "float32",
                        "-k", "optimizer_steps_match and adam")
    assert done.returncode == 0, done.stdout[-2000:]
    cell = next(c for c in report["cells"] if c["primitive"] == "adam")
    assert cell["status"] == "passed" and cell["rejected"] > 0, cell
    assert "rejected" in done.stdout


@pytest.mark.parametrize("args", [
    ("--dtype", "flaot32"), ("--dtype", ""), ("--dtype", "float32,flaot16"), ("--dtype", "bfloat16"),
    ("--device", "cuda"), ("--backend", f"{FAULTS}:ConstructorRaises"), ("--backend", f"{FAULTS}:CapabilitiesRaise"),
    ("--report", "/dev/null/report"),
])
def test_a_run_that_cannot_check_what_was_asked_is_a_usage_error(nnspec_here, tmp_path, args):
    stale = tmp_path / "old" / "report.json"  # a previous run's report must not survive a run that cannot start
    stale.parent.mkdir()
    stale.write_text("{}")
    report = ("--report", str(stale.parent)) if "--report" not in args else ()
    done = nnspec_here("run", "-k", "relu", *args, *report, cwd=tmp_path)  # refused before pytest starts
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("nnspec: ")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert not stale.exists() or "--report" in args


def test_nothing_checked_is_not_a_pass(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "--backend", "reference", "--dtype", "float32", "-k",
                        "optimizer_steps_match and nosuchoptimizer or dropout_stream_unseeded_with_p_zero_xyz or "
                        "test_sweep_every_input")
    assert done.returncode != 0, done.stdout[-2000:]
    assert "no check was executed" in done.stdout or done.returncode == 5


def test_markup_and_long_names_do_not_break_the_summary_or_case_files(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:MarkupInVersion", "--dtype", "float32",
                        "-k", "forward_matches and relu")
    assert done.returncode == 1 and report is not None, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2.1.0[/]" in done.stdout
    names = os.listdir(tmp_path / "report" / "failures")
    assert names and all(len(name) <= 130 for name in names), names


def test_a_new_run_starts_with_a_clean_report_folder(nnspec_cli, tmp_path):
    stale = tmp_path / "report" / "failures" / "stale-case.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    (tmp_path / "report" / "report.json").write_text("{}")
    done, report = _run(nnspec_cli, tmp_path, "--backend", "reference", "--dtype", "float32", "-k",
                        "forward_matches and relu and not leaky")
    assert done.returncode == 0 and report["status"] == "complete"
    assert not stale.exists()


def _case_file(tmp_path, **changes) -> str:
    case = {"kind": "forward", "primitive": "relu", "params": {}, "dtype": "float32", "device": "cpu",
            "backend": "reference", "backend_options": {}, "test": "x",
            "arrays": {"x": {"dtype": "float64", "shape": [1], "hex": [1.5.hex()]}}}
    case.update(changes)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    return str(path)


@pytest.mark.parametrize(("changes", "says"), [
    ({"backend": "os:system"}, "may name only a built-in backend"),
    ({"backend": "nnspec.adapters.mutants_faults:ReluAborts"}, "may name only a built-in backend"),
    ({"backend_options": {"threads": 100000}}, "backend_options must map option names to short strings"),
    ({"backend_options": ["threads=1"]}, "backend_options must map option names to short strings"),
    ({"backend_options": {"threads": "100000"}}, "unknown option(s) threads"),
])
def test_case_files_are_data_not_code(nnspec_here, tmp_path, changes, says):
    """A case file travels in bug reports: it may name only installed backends and their declared options."""
    done = nnspec_here("replay", _case_file(tmp_path, **changes), cwd=tmp_path)
    assert done.returncode == 4 and says in done.stderr, done.stdout + done.stderr


def test_a_case_replays_against_a_module_backend_named_on_the_command_line(nnspec_here, tmp_path):
    done = nnspec_here("replay", _case_file(tmp_path, backend="os:system"), "--backend",
                      f"{FAULTS}:ReluZeroesItsInput", cwd=tmp_path)
    assert done.returncode == 1 and "write into an input array" in done.stdout, done.stdout + done.stderr


def test_torch_refuses_a_thread_count_that_would_crash_it(nnspec_here, tmp_path):
    pytest.importorskip("torch")
    done = nnspec_here("replay", _case_file(tmp_path, backend="torch", backend_options={"threads": "100000"}),
                      cwd=tmp_path)
    assert done.returncode == 4 and "option threads must be in [1, 256], got 100000" in done.stderr, done.stderr


def test_dtypes_declared_per_primitive(nnspec_cli, tmp_path):
    done, report = _run(nnspec_cli, tmp_path, "--backend", f"{FAULTS}:Float16ForActivationsOnly", "--dtype",
                        "float16", "-k", "forward_matches and (relu or tanh)")
    assert done.returncode == 1, done.stdout[-2000:]
    cells = {(c["primitive"], c["dtype"]): c["status"] for c in report["cells"]}
    assert cells[("relu", "float16")] == "failed" and cells[("tanh", "float16")] == "unsupported", cells
