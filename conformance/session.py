"""The suite's run state: the backend under test, per-test records, failure messages, summary and report.

One code path serves a run in one process and a run with worker processes (``--jobs``, pytest-xdist): the
process that runs a test fills its :class:`Record` and attaches it to the test's report
(``user_properties``); the process that writes the report rebuilds every record from those reports. So a
worker that crashes loses only its current test, which is reported as ``crashed``.

Outcomes (docs/report-schema.md#outcomes): passed, excused, failed, error, timeout, crashed, interrupted,
unsupported, skipped, not run.
"""

from __future__ import annotations

import dataclasses
import platform
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis.errors import Unsatisfiable

from nnspec.conformance import report, runconfig, sweep
from nnspec.conformance.checker import Checker, failure_key
from nnspec.conformance.guard import BackendError, BackendFault, BackendTimeout, GuardedBackend
from nnspec.reference import catalogue

__all__ = ["Record", "Session", "Checker", "FAILING"]

#: Outcomes that make the run fail (non-zero exit).
FAILING = frozenset({"failed", "error", "timeout", "crashed", "interrupted"})

_PROPERTY = "nnspec-record"
#: From this many failed tests a run that shrank them says that `--no-shrink` gives a first verdict faster.
SHRINK_HINT = 3


@dataclass
class Record:
    """What one test (one node id) did: which primitive and property, in which dtype, how close it came."""

    nodeid: str
    test: str
    dtype: str
    primitive: str = "?"
    prop: str = "?"
    outcome: str = "not run"
    worst_ratio: float = 0.0
    examples: int = 0
    #: examples in which a known issue excused something, and those in which it excused everything checked
    excused_examples: int = 0
    fully_excused_examples: int = 0
    #: draws the backend rejected (UnsupportedError for one hyperparameter variant, say), with the reasons
    rejected: int = 0
    rejected_reasons: list[str] = field(default_factory=list)
    message: str = ""
    replay: str = ""
    known_issues: set[str] = field(default_factory=set)
    duration: float = 0.0
    #: the distinct failures of the test, one per input class or error type (docs/report-schema.md#distinct-
    #: failures): ``class``, ``variant`` (hyperparameters, "" for none), ``message``, ``replay``; ``message`` and
    #: ``replay`` above are the first one's
    failures: list[dict[str, str]] = field(default_factory=list)

    def add_failure(self, label: str, message: str, replay: str, variant: str = "") -> None:
        """Keep the latest failure of each (label, variant): Hypothesis replays each minimal example last."""
        self.failures = [f for f in self.failures if (f["class"], f.get("variant", "")) != (label, variant)]
        self.failures.append({"class": label, "variant": variant, "message": message, "replay": replay})

    def keep_failures(self, raised: BaseException) -> None:
        """Keep only the failures that the test finally raised (one, or each of Hypothesis' distinct failures in
        an exception group), in the order of ``sweep.CLASSES``, then of variant; the first becomes ``message``
        and ``replay``."""
        keys = {failure_key(error) for error in _leaves(raised)}
        order = {label: index for index, label in enumerate(sweep.CLASSES)}
        kept = [f for f in self.failures if (f["class"], f.get("variant", "")) in keys]
        self.failures = sorted(kept, key=lambda f: (order.get(f["class"], len(order)), f.get("variant", "")))
        if self.failures:
            self.message, self.replay = self.failures[0]["message"], self.failures[0]["replay"]

    def to_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["known_issues"] = sorted(self.known_issues)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Record:
        data = dict(data)
        data["known_issues"] = set(data.get("known_issues", ()))
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}})


def _placeholder(nodeid: str) -> Record:
    """The record of a collected test that has not reported yet: its dtype and primitive read off its id."""
    name = nodeid.split("::")[-1]
    test, _, params = name.partition("[")
    parts = params.rstrip("]").split("-") if params else []
    dtype = parts[0] if parts else "?"
    names = catalogue.names()
    primitive = next((p for p in parts[1:] if p in names), test.removeprefix("test_").split("_")[0])
    return Record(nodeid, test, dtype, primitive=primitive)


def _leaves(error: BaseException) -> list[BaseException]:
    """An exception and, through exception groups (Hypothesis' distinct failures), every exception inside."""
    found = [error]
    for inner in getattr(error, "exceptions", ()) or ():
        found += _leaves(inner)
    return found


def _outcome_of(excinfo) -> str:
    """The outcome an exception that escaped a test stands for; in a group of distinct failures the worst:
    timeout, then error (the backend raised), then failed."""
    found = _leaves(excinfo.value)
    if any(isinstance(e, BackendTimeout) for e in found):
        return "timeout"
    if any(isinstance(e, BackendError) for e in found):
        return "error"
    if any(isinstance(e, (AssertionError, BackendFault)) for e in found):
        return "failed"
    return "failed" if excinfo.errisinstance(pytest.fail.Exception) else "error"


class Session:
    """Registered as a pytest plugin for the whole run; owns the backend and the records."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run = runconfig.from_pytest(config)
        self.records: dict[str, Record] = {}
        self._backend: GuardedBackend | None = None
        self._started: dict[str, float] = {}
        self._current: Record | None = None
        self.backend_name = self.run.backend
        self.device = self.run.device
        self.backend_options = self.run.backend_options
        self.report_dir = self.run.report_dir
        self.case_dir = (self.report_dir / "failures") if self.report_dir else Path(".nnspec-failures")
        self.load_error: str | None = None
        self.active = False

    # -- the backend ----------------------------------------------------------------------------------------
    @property
    def backend(self) -> GuardedBackend:
        if self._backend is None:
            try:
                backend = runconfig.load(self.run)
            except runconfig.RunError as error:
                self.load_error = str(error)
                pytest.exit(f"nnspec: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
            self._backend = GuardedBackend(backend, timeout=self.run.call_timeout, on_event=self._event)
        return self._backend

    def _event(self, kind: str, detail: str) -> None:
        if self._current is not None and kind == "unsupported":
            self._current.rejected += 1
            if detail not in self._current.rejected_reasons and len(self._current.rejected_reasons) < 5:
                self._current.rejected_reasons.append(detail)

    def checker(self, node: pytest.Item, dtype: str) -> Checker:
        record = self.records[node.nodeid] = Record(node.nodeid, node.originalname, dtype)
        self._current = record
        self.backend.reset()
        return Checker(self, record)

    def dtypes(self) -> list[str]:
        """The dtypes of ``--dtype``, validated against what the backend declares (``declared``: all of them)."""
        try:
            return runconfig.dtypes(self.run, self.backend.capabilities())
        except runconfig.RunError as error:
            self.load_error = str(error)
            pytest.exit(f"nnspec: {error}", returncode=pytest.ExitCode.USAGE_ERROR)

    # -- pytest hooks ---------------------------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Fail fast, before any test, on a bad report folder or a backend that cannot run what was asked."""
        self.active = runconfig.suite_selected(self.config)
        if not self.active:
            return
        if self.report_dir is not None and not hasattr(self.config, "workerinput"):
            try:
                report.prepare(self.report_dir)
            except OSError as error:
                self.load_error = f"--report {self.report_dir}: cannot write there ({error})"
                pytest.exit(f"nnspec: {self.load_error}", returncode=pytest.ExitCode.USAGE_ERROR)
        self.dtypes()  # loads the backend and validates --dtype and --device (exit 4 with one line)
        runconfig.import_suite()  # a fixed pool of Hypothesis' local constants: the same examples in any order

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self.records.setdefault(item.nodeid, _placeholder(item.nodeid))

    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        for nodeid in ids:
            self.records.setdefault(nodeid, _placeholder(nodeid))

    def pytest_runtest_logstart(self, nodeid: str, location) -> None:
        self._started[nodeid] = time.monotonic()

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function):
        """A test whose every draw the backend rejected (UnsupportedError for each variant drawn) checked
        nothing: Hypothesis says Unsatisfiable; it is reported unsupported, with the rejections counted."""
        try:
            return (yield)
        except Unsatisfiable:
            record = self._current
            if record is None or not record.rejected:
                raise
            pytest.skip(f"unsupported: the backend rejected all {record.rejected} draws "
                        f"({'; '.join(record.rejected_reasons)})")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        outcome = yield
        test_report = outcome.get_result()
        record = self.records.get(item.nodeid)
        if record is None or record.outcome != "not run" and call.when == "teardown":
            return
        if call.excinfo is not None and call.when == "call" and not test_report.skipped:
            record.outcome = _outcome_of(call.excinfo)
            record.keep_failures(call.excinfo.value)
        if call.when == "call" or test_report.outcome != "passed":
            test_report.user_properties.append((_PROPERTY, record.to_json()))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        carried = dict(report.user_properties).get(_PROPERTY)
        if carried is None and report.nodeid not in self.records:
            return
        record = Record.from_json(carried) if carried is not None else self.records[report.nodeid]
        escaped = record.outcome if carried is not None and record.outcome != "not run" else None
        self.records[report.nodeid] = record
        if report.when not in ("setup", "call", "teardown"):  # pytest-xdist: the worker died in this test
            self._crashed(record, report)
            return
        if report.when == "teardown" and report.passed:
            return
        record.duration = time.monotonic() - self._started.get(report.nodeid, time.monotonic())
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            record.outcome = "unsupported" if "unsupported:" in reason else "skipped"
            record.message = reason.removeprefix("Skipped: ")
        elif report.failed:
            record.outcome = escaped if escaped in FAILING else ("error" if report.when != "call" else "failed")
            if not record.message:
                record.message = str(report.longrepr)[-2000:]
        elif report.when == "call":
            fully = record.examples > 0 and record.fully_excused_examples == record.examples
            record.outcome = "excused" if fully else "passed"

    def _crashed(self, record: Record, test_report: pytest.TestReport) -> None:
        elapsed = time.monotonic() - self._started.get(test_report.nodeid, time.monotonic())
        hard = self.run.test_timeout
        if hard and elapsed >= hard * 0.95:
            record.outcome = "timeout"
            record.message = (f"{self.backend_name} ({self.device}) {record.dtype} {record.primitive}: the test ran "
                              f"past the {hard:g} s per-test limit (--test-timeout) and its worker process was "
                              "stopped")
        else:
            record.outcome = "crashed"
            record.message = (f"{self.backend_name} ({self.device}) {record.dtype} {record.primitive}: the "
                              "backend's process died in this test (a segfault, an abort or os._exit); the run "
                              f"went on in a new worker.\n{str(test_report.longrepr)[-1500:]}")
        record.duration = elapsed

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.active or hasattr(self.config, "workerinput"):
            return
        for nodeid in self._started:
            record = self.records.get(nodeid)
            if record is not None and record.outcome == "not run" and session.exitstatus == 2:
                record.outcome = "interrupted"  # started, never finished
        outcomes = {r.outcome for r in self.records.values()}
        self.verdict = None
        if self.load_error is None and self.records:
            if outcomes & FAILING and session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            if not outcomes & (FAILING | {"passed", "excused"}) and session.exitstatus == 0:
                self.verdict = "no check was executed: every selected test was unsupported or skipped"
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        status = {0: "complete", 1: "complete", 2: "interrupted"}.get(int(session.exitstatus), "error")
        if self.report_dir is not None and self.load_error is None:
            self.report_path = report.write(self.report_dir, self.records.values(), self.environment(),
                                            self.run_options(), status=status, exit_status=int(session.exitstatus))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.active or not self.records or self.load_error is not None:
            return
        report.print_summary(self.records.values(), self.environment(), terminalreporter)
        if getattr(self, "verdict", None):
            terminalreporter.write_line(f"nnspec: FAILED: {self.verdict}", red=True, bold=True)
        failing = sum(record.outcome == "failed" for record in self.records.values())
        if failing >= SHRINK_HINT and not self.config.getoption("nnspec_no_shrink", False):
            terminalreporter.write_line(f"nnspec: {failing} tests failed, each shrunk to a minimal example (hundreds "
                                        "of backend calls each): while you iterate, `--no-shrink` and `-k AREA` give "
                                        "a first verdict in a fraction of the time")
        if getattr(self, "report_path", None):
            terminalreporter.write_line(f"nnspec: report written to {self.report_path}")

    def environment(self) -> dict[str, object]:
        env = {"python": platform.python_version(), "platform": platform.platform(), "numpy": np.__version__,
               "cpu": cpu_facts()}
        try:
            import hypothesis

            env["hypothesis"] = hypothesis.__version__
        except ImportError:  # pragma: no cover
            pass
        if self._backend is not None:
            env["backend"] = self._backend.environment()
            caps = self._backend.capabilities()
            env["declared"] = {
                "dtypes": list(caps.dtypes), "features": sorted(caps.features),
                "conventions": {k: dict(v) for k, v in caps.conventions.items()},
                "options": {k: sorted(v) for k, v in caps.options.items()},
                "optimizers": {k: v.to_json() for k, v in caps.optimizers.items()},
                "known_issues": sorted({issue.id for issue in self._backend.known_issues}),
            }
        return env

    def run_options(self) -> dict[str, object]:
        options = self.run.to_json()
        options["seed"] = self.config.getoption("hypothesis_seed", None)
        options["dtypes"] = ",".join(self.dtypes()) if self._backend is not None else self.run.dtype
        return options

    def replay_command(self, case_path: Path) -> str:
        words = ["nnspec", "replay", str(case_path)]
        if not runconfig.nameable_in_case(self.backend_name):  # a case file names only installed backends
            words += ["--backend", self.backend_name]
        return shlex.join(words)

    def rerun_command(self, record: Record) -> str:
        words = ["nnspec", "run", "--backend", self.backend_name, "--device", self.device, "--dtype", record.dtype]
        for key, value in self.backend_options.items():
            words += ["--backend-option", f"{key}={value}"]
        words += ["-k", f"{record.test} and {record.primitive}"]
        return shlex.join(words)


#: The instruction-set extensions that select different framework kernels (oneDNN, Eigen, XLA): findings
#: depend on them (GELU overflows in oneDNN's AVX-512 kernel only).
_ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_fp16", "amx_tile",
              "amx_bf16", "asimd", "sve")


def cpu_facts() -> dict[str, object]:
    """The CPU model and its ISA extensions that matter to kernels (Linux: /proc/cpuinfo; elsewhere the machine
    name only)."""
    facts: dict[str, object] = {"machine": platform.machine(), "processor": platform.processor()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return facts
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    facts["model"] = fields.get("model name", fields.get("Hardware", "?"))
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    facts["isa"] = [flag for flag in _ISA_FLAGS if flag in flags]
    return facts
