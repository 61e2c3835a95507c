"""The suite's run state: the backend under test, per-test records, failure messages, summary and report."""

from __future__ import annotations

import platform
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from nnspec.adapters import load_backend
from nnspec.adapters.base import Backend
from nnspec.conformance import checks, report
from nnspec.conformance.budgets import Comparison
from nnspec.reference import catalogue

__all__ = ["Record", "Session", "Checker"]


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
    message: str = ""
    replay: str = ""
    known_issues: set[str] = field(default_factory=set)


def _options(config: pytest.Config) -> dict[str, str]:
    pairs = {}
    for item in config.getoption("backend_option"):
        key, sep, value = item.partition("=")
        if not sep:
            raise pytest.UsageError(f"--backend-option must be KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def _show(array: np.ndarray | None) -> str:
    if array is None:
        return "None"
    array = np.asarray(array)
    if array.dtype.kind != "f":
        return np.array2string(array, separator=", ", threshold=24)
    return np.array2string(array, separator=", ", threshold=24, floatmode="unique")


class Session:
    """Registered as a pytest plugin for the whole run; owns the backend and the records."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: dict[str, Record] = {}
        self._backend: Backend | None = None
        self.backend_name = config.getoption("backend")
        self.device = config.getoption("device")
        self.backend_options = _options(config)
        report_dir = config.getoption("report")
        self.report_dir = Path(report_dir) if report_dir else None
        self.case_dir = (self.report_dir / "failures") if self.report_dir else Path(".nnspec-failures")

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            try:
                self._backend = load_backend(self.backend_name, self.device, **self.backend_options)
            except (ImportError, ValueError, NotImplementedError) as error:
                pytest.exit(f"nnspec: cannot load backend {self.backend_name!r} on {self.device!r}: {error}",
                            returncode=4)
            if self.config.getoption("no_known_issues"):
                self._backend.known_issues = ()
        return self._backend

    def checker(self, node: pytest.Item, dtype: str) -> Checker:
        record = self.records.setdefault(node.nodeid, Record(node.nodeid, node.originalname, dtype))
        return Checker(self, record)

    # -- pytest hooks ---------------------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.get(report.nodeid)
        if record is None:
            return
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if report.skipped:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                record.outcome = "unsupported" if "unsupported:" in reason else "skipped"
                record.message = reason.removeprefix("Skipped: ")
            else:
                record.outcome = report.outcome
                if report.failed and not record.message:
                    record.message = str(report.longrepr)[-2000:]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.records:
            return
        environment = self.environment()
        report.print_summary(self.records.values(), environment, terminalreporter)
        if self.report_dir is not None:
            path = report.write(self.report_dir, self.records.values(), environment, self.run_options())
            terminalreporter.write_line(f"nnspec: report written to {path}")

    def environment(self) -> dict[str, object]:
        env = {"python": platform.python_version(), "platform": platform.platform(), "numpy": np.__version__}
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
                "optimizers": {k: dict(v) for k, v in caps.optimizers.items()},
                "known_issues": sorted({issue.id for issue in self._backend.known_issues}),
            }
        return env

    def dtypes(self) -> list[str]:
        """The dtypes of ``--dtype``; ``declared`` (the default) is every dtype the backend declares."""
        option = str(self.config.getoption("dtype"))
        if option.strip() == "declared":
            return list(self.backend.capabilities().dtypes)
        return [d.strip() for d in option.split(",") if d.strip()]

    def run_options(self) -> dict[str, object]:
        from hypothesis import settings

        return {"backend": self.backend_name, "device": self.device, "backend_options": self.backend_options,
                "dtypes": ",".join(self.dtypes()), "profile": settings._current_profile}

    def replay_command(self, case_path: Path) -> str:
        return "nnspec replay " + shlex.quote(str(case_path))

    def rerun_command(self, record: Record) -> str:
        words = ["nnspec", "run", "--backend", self.backend_name, "--device", self.device, "--dtype", record.dtype]
        for key, value in self.backend_options.items():
            words += ["--backend-option", f"{key}={value}"]
        words += ["-k", f"{record.test} and {record.primitive}"]
        return shlex.join(words)


class Checker:
    """A test's gateway to the backend. Each check records error/budget and fails with a replayable message."""

    def __init__(self, session: Session, record: Record) -> None:
        self.session = session
        self.record = record
        self.dtype = record.dtype

    @property
    def backend(self) -> Backend:
        return self.session.backend

    def require(self, primitive: str, prop: str, *, feature: str | None = None) -> None:
        """Skip as *unsupported* unless the backend declares the primitive (or feature) and the dtype."""
        if self.record.primitive == "?":  # a test that needs several primitives is filed under the first
            self.record.primitive, self.record.prop = primitive, prop
        caps = self.backend.capabilities()
        if feature is not None and feature not in caps.features:
            pytest.skip(f"unsupported: {self.backend.name} does not declare {feature!r}")
        if feature is None and primitive not in caps.primitives:
            pytest.skip(f"unsupported: {self.backend.name} does not declare {primitive!r}")
        if self.dtype not in caps.dtypes:
            pytest.skip(f"unsupported: {self.backend.name} does not declare dtype {self.dtype}")

    def forward(self, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object] | None = None):
        params = dict(params or {})
        comparison = checks.forward(self.backend, primitive, arrays, params, self.dtype)
        self._judge({"output": comparison}, dict(kind="forward", primitive=primitive, arrays=dict(arrays),
                                                 params=params))

    def vjp(self, primitive: str, arrays: Mapping[str, np.ndarray], grad_output: np.ndarray,
            params: Mapping[str, object] | None = None):
        params = dict(params or {})
        comparisons = checks.vjp(self.backend, primitive, arrays, params, grad_output, self.dtype)
        self._judge({f"grad of {k}": c for k, c in comparisons.items()},
                    dict(kind="vjp", primitive=primitive, arrays=dict(arrays), params=params, grad_output=grad_output))

    def vjp_oracle(self, primitive: str, x: np.ndarray) -> None:
        """Check an elementwise primitive's derivative against the SymPy oracle."""
        comparison = checks.vjp_oracle(self.backend, primitive, x, self.dtype)
        self._judge({"grad of x": comparison}, dict(kind="vjp_oracle", primitive=primitive, arrays={"x": x}, params={}))

    def network(self, layers, x: np.ndarray, target: np.ndarray, loss: str, reduction: str) -> None:
        """Check a network's loss and parameter gradients; ``layers`` are (weight, bias, activation)."""
        comparisons = checks.network(self.backend, layers, x, target, loss, {"reduction": reduction}, self.dtype)
        arrays = {"x": x, "target": target}
        for index, (weight, bias, _) in enumerate(layers):
            arrays[f"weight{index}"], arrays[f"bias{index}"] = weight, bias
        params = {"loss": loss, "reduction": reduction, "activations": [act for _, _, act in layers]}
        self._judge(comparisons, dict(kind="network", primitive="network", arrays=arrays, params=params))

    def expect(self, comparisons: Mapping[str, Comparison], case: Mapping[str, object]) -> None:
        """Judge comparisons a test computed itself, with the same recording and failure message.

        ``case`` holds ``kind`` (a check kind that ``checks.run_case`` can replay, or any label), ``primitive``
        (a name for the report), ``arrays`` (name -> numpy array or None: written exactly to the case file),
        ``params`` (JSON-serialisable), optionally ``grad_output`` and ``spec`` (the spec section).
        """
        self._judge(dict(comparisons), dict(case))

    def _case_known_issue(self, case: Mapping[str, object]) -> str | None:
        """The id of a known issue that excuses this whole case (a network, optimizer, training or early-stopping
        check), if the backend declares one whose ``kind`` prefixes the case's kind and whose ``where`` holds."""
        kind = str(case.get("kind", ""))
        if kind in ("forward", "vjp", "vjp_oracle"):
            return None  # primitives are excused element by element, in checks.py
        for issue in self.backend.known_issues:
            if issue.primitive == case.get("primitive") and kind.startswith(issue.kind):
                if bool(np.all(issue.where(case.get("arrays", {}), case.get("params", {}), self.dtype))):
                    return issue.id
        return None

    def _judge(self, comparisons: dict[str, Comparison], case: dict) -> None:
        self.record.examples += 1
        for comparison in comparisons.values():
            self.record.known_issues.update(comparison.known)
        worst_name = max(comparisons, key=lambda k: comparisons[k].ratio)
        worst = comparisons[worst_name]
        excuse = None if worst.ok else self._case_known_issue(case)
        if excuse is not None:
            self.record.known_issues.add(excuse)
            return
        self.record.worst_ratio = max(self.record.worst_ratio, worst.ratio)
        if worst.ok:
            return
        case.update(dtype=self.dtype, backend=self.session.backend_name, device=self.session.device,
                    backend_options=self.session.backend_options, test=self.record.nodeid)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.backend.name}-{self.record.nodeid.split('::')[-1]}")
        replay = ""
        if case.get("kind") is not None:
            path = checks.save_case(self.session.case_dir / f"{slug}.json", case)
            replay = self.session.replay_command(path)
        names = {p.name for p in catalogue.PRIMITIVES}
        spec = case.get("spec") or (catalogue.get(case["primitive"]).spec if case.get("primitive") in names
                                    else "docs/spec/")
        lines = [
            f"{self.session.backend_name} ({self.session.device}) {self.dtype} {case.get('primitive', '?')} "
            f"{self.record.prop}: {worst_name} is outside its error budget",
            f"  {worst.describe()}",
            f"  spec: {spec}",
            "  inputs: " + ", ".join(f"{k}={_show(v)}" for k, v in case.get("arrays", {}).items()),
        ]
        if case.get("grad_output") is not None:
            lines.append(f"  grad_output={_show(case['grad_output'])}")
        if case.get("params"):
            lines.append(f"  params: {case['params']}")
        if replay:
            lines.append(f"  replay this case: {replay}")
        lines.append(f"  rerun the test:   {self.session.rerun_command(self.record)}")
        self.record.message, self.record.replay = "\n".join(lines), replay
        raise AssertionError("\n".join(lines))
