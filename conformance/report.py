"""The end-of-run summary table (primitive x dtype) and the versioned JSON report (docs/report-schema.md)."""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from nnspec.conformance import report_html

__all__ = ["SCHEMA", "OUTCOMES", "LEVELS", "summarize", "levels", "markdown", "print_summary", "prepare", "write",
           "write_atomic"]

#: Bump the number on any incompatible change of the JSON layout (docs/report-schema.md).
SCHEMA = "nnspec-report/2"

#: Every outcome a test can have, in the order a cell takes them: a cell reads the first outcome (in this order)
#: that any of its tests has. So a cell with one failing test fails, and a cell reads "excused" only when no test
#: in it passed: nothing in it was really checked.
OUTCOMES = ("crashed", "timeout", "error", "failed", "interrupted", "not run", "passed", "excused", "unsupported",
            "skipped")
_RANK = {outcome: len(OUTCOMES) - index for index, outcome in enumerate(OUTCOMES)}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nnspec")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
        return "unknown"


def summarize(records: Iterable) -> dict[tuple[str, str], dict[str, object]]:
    """Aggregate records into cells (primitive, dtype) -> status, worst_ratio, tests, counts.

    A cell's status is the worst outcome of its tests (OUTCOMES, worst first; a test that was collected but never
    ran makes the cell "not run"). ``excused`` counts examples in which a known issue excused something,
    ``rejected`` the draws the backend rejected as unsupported.
    """
    cells: dict[tuple[str, str], dict[str, object]] = {}
    for record in records:
        cell = cells.setdefault((record.primitive, record.dtype),
                                {"status": "unsupported", "worst_ratio": 0.0, "tests": 0, "examples": 0,
                                 "excused_examples": 0, "rejected": 0, "outcomes": {}, "known_issues": []})
        cell["tests"] += 1
        cell["outcomes"][record.outcome] = cell["outcomes"].get(record.outcome, 0) + 1
        cell["examples"] += record.examples
        cell["excused_examples"] += record.excused_examples
        cell["rejected"] += record.rejected
        cell["known_issues"] = sorted(set(cell["known_issues"]) | set(record.known_issues))
        if cell["tests"] == 1 or _RANK.get(record.outcome, 0) > _RANK.get(cell["status"], 0):
            cell["status"] = record.outcome
        cell["worst_ratio"] = max(cell["worst_ratio"], record.worst_ratio)
    return cells


def _area(primitive: str) -> str:
    """core (activations, softmax, losses, dense, network), optimizers, training (dropout, early stopping,
    training step, epoch batches, gradient clipping, learning-rate schedules), or other."""
    from nnspec.reference import catalogue

    if primitive in {p.name for p in catalogue.PRIMITIVES} or primitive == "network":
        return "core"
    if primitive in catalogue.optimizers():
        return "optimizers"
    if primitive.startswith(("dropout", "early", "training", "epoch", "gradient_clipping", "schedule")):
        return "training"
    return "other"


#: Conformance levels (docs/report-schema.md#levels): name -> (area, dtypes). A backend reaches a level when
#: every cell of that area in those dtypes that it declares passed (or was excused), and at least one passed.
LEVELS = {
    "core-float64": ("core", ("float64",)),
    "core-float32": ("core", ("float32",)),
    "half-precision": ("core", ("float16", "bfloat16")),
    "optimizers": ("optimizers", ("float64", "float32", "float16", "bfloat16")),
    "training": ("training", ("float64", "float32", "float16", "bfloat16")),
}


def levels(records: Iterable) -> dict[str, str]:
    """Each level's verdict: ``reached``, ``not reached`` (a cell failed, errored, ... or never ran) or
    ``not declared`` (nothing of it was checked)."""
    cells = summarize(records)
    verdicts = {}
    for name, (area, dtypes) in LEVELS.items():
        mine = [cell for (primitive, dtype), cell in cells.items() if _area(primitive) == area and dtype in dtypes]
        statuses = {cell["status"] for cell in mine}
        if statuses & {"crashed", "timeout", "error", "failed", "interrupted", "not run"}:
            verdicts[name] = "not reached"
        elif "passed" in statuses:
            verdicts[name] = "reached"
        else:
            verdicts[name] = "not declared"
    return verdicts


def markdown(records: Iterable, environment: Mapping[str, object]) -> str:
    """The summary as Markdown (a PR comment, a CI job summary): levels, then the primitive x dtype table."""
    records = list(records)
    cells = summarize(records)
    order = ("float64", "float32", "float16", "bfloat16")
    dtypes = sorted({d for _, d in cells}, key=lambda d: order.index(d) if d in order else 9)
    backend = environment.get("backend", {})

    def safe(text: object) -> str:
        return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    badge = {"reached": "✅", "not reached": "❌", "not declared": "➖"}
    lines = [f"## nnspec {safe(_version())}: {safe(backend.get('framework', '?'))} {safe(backend.get('version', ''))}"
             f" on {safe(backend.get('device_name', '?'))}", "",
             " ".join(f"{badge[v]} **{k}**: {v}" for k, v in levels(records).items()), "",
             "| primitive | " + " | ".join(dtypes) + " |", "|---" * (len(dtypes) + 1) + "|"]
    for primitive in sorted({p for p, _ in cells}):
        row = [safe(primitive)]
        for dtype in dtypes:
            cell = cells.get((primitive, dtype))
            text = "" if cell is None else safe(_cell_text(cell))
            row.append(f"**{text}**" if cell is not None and cell["status"] in _BAD else text)
        lines.append("| " + " | ".join(row) + " |")
    failed = [r for r in records if r.outcome in _BAD and r.message]
    if failed:
        lines += ["", "### Failures", ""]
        for record in failed[:50]:
            distinct = f", {len(record.failures)} distinct failures" if len(record.failures) > 1 else ""
            lines.append(f"- `{safe(record.nodeid)}` ({record.outcome}{distinct})")
            for message in [f["message"] for f in record.failures] or [record.message]:
                lines += ["", "  ```", *("  " + line for line in message.splitlines()[:12]), "  ```"]
    return "\n".join(lines) + "\n"


_BAD = ("crashed", "timeout", "error", "failed", "interrupted", "not run")

_STYLE = {"passed": "green", "excused": "yellow", "failed": "bold red", "error": "bold red", "timeout": "bold red",
          "crashed": "bold red", "interrupted": "bold magenta", "not run": "magenta", "unsupported": "dim",
          "skipped": "dim"}


def _cell_text(cell: Mapping[str, object]) -> str:
    status = cell["status"]
    if status in ("unsupported", "skipped", "not run", "interrupted", "crashed", "timeout", "error"):
        text = status
    else:
        text = f"{status} {cell['worst_ratio']:.2g}"
    if cell["excused_examples"]:
        text += f" +known {cell['excused_examples']}/{cell['examples']}"
    if cell["rejected"]:
        text += f" -{cell['rejected']} rejected"
    return text


def _table(records: Iterable, environment: Mapping[str, object]):
    from rich.markup import escape
    from rich.table import Table

    records = list(records)
    cells = summarize(records)
    order = ("float64", "float32", "float16", "bfloat16")
    dtypes = sorted({d for _, d in cells}, key=lambda d: order.index(d) if d in order else 9)
    backend = environment.get("backend", {})
    title = escape(f"nnspec {_version()}: {backend.get('framework', '?')} {backend.get('version', '')} "
                   f"on {backend.get('device_name', '?')}")
    table = Table(title=title, caption="outcome, worst error/budget (<= 1 passes); +known k/n: excused in k of n "
                                       "examples; -r rejected: draws rejected as unsupported "
                                       "(docs/report-schema.md#outcomes)")
    table.add_column("primitive")
    for dtype in dtypes:
        table.add_column(escape(dtype), justify="right")
    for primitive in sorted({p for p, _ in cells}):
        row = [escape(primitive)]
        for dtype in dtypes:
            cell = cells.get((primitive, dtype))
            row.append("" if cell is None else f"[{_STYLE.get(cell['status'], '')}]{escape(_cell_text(cell))}[/]")
        table.add_row(*row)
    return table


def print_summary(records: Iterable, environment: Mapping[str, object], terminalreporter) -> None:
    """Print the summary table through pytest's terminal reporter."""
    from rich.console import Console

    records = list(records)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminalreporter.isatty(), width=120)
    console.print(_table(records, environment))
    counts: dict[str, int] = {}
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    terminalreporter.write_sep("=", "nnspec conformance summary")
    terminalreporter.write(buffer.getvalue())
    terminalreporter.write_line("nnspec: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if o in counts))
    terminalreporter.write_line("nnspec levels: " + ", ".join(f"{k} {v}" for k, v in levels(records).items()))
    _print_distinct(records, terminalreporter)


def _print_distinct(records: list, terminalreporter, *, most: int = 40) -> None:
    """Each failing test's distinct failures (docs/report-schema.md#distinct-failures): the headline and the replay
    command of each, so a second bug in the same test is not hidden behind the first."""
    failing = [r for r in records if r.outcome in _BAD and r.failures]
    if not failing:
        return
    terminalreporter.write_sep("-", "nnspec failures, one per input class (and hyperparameter variant) or error")
    for record in failing[:most]:
        terminalreporter.write_line(f"{record.nodeid}: {len(record.failures)} distinct failure"
                                    f"{'s' if len(record.failures) > 1 else ''}")
        for failure in record.failures:
            variant = f"; {failure['variant']}" if failure.get("variant") else ""
            terminalreporter.write_line(f"  [{failure['class']}{variant}] {failure['message'].splitlines()[0]}")
            if failure["replay"]:
                terminalreporter.write_line(f"    {failure['replay']}")
    if len(failing) > most:
        terminalreporter.write_line(f"... and {len(failing) - most} more failing tests: see the report")


def _number(value: float) -> float | str:
    """JSON has no infinity: a non-finite ratio is written as the string "inf" (or "nan")."""
    return value if math.isfinite(value) else str(value)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``: a reader
    never sees half a file, even when the disk fills up or the run is killed mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def prepare(directory: Path) -> None:
    """Start a run's report folder clean: remove the previous run's report.json and failure cases (only
    those: nnspec never deletes files it did not write), and prove the folder is writable."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").unlink(missing_ok=True)
    (directory / "summary.md").unlink(missing_ok=True)
    (directory / "report.html").unlink(missing_ok=True)
    failures = directory / "failures"
    if failures.is_dir():
        shutil.rmtree(failures)
    write_atomic(directory / ".nnspec-write-test", "")
    (directory / ".nnspec-write-test").unlink()


def write(directory: Path, records: Iterable, environment: Mapping[str, object], options: Mapping[str, object],
          *, status: str = "complete", exit_status: int = 0) -> Path:
    """Write ``report.json`` (schema :data:`SCHEMA`) into ``directory`` atomically and return its path.

    ``status``: ``complete`` (every selected test reported), ``interrupted`` (Ctrl-C, SIGTERM: the tests that
    never ran read "not run") or ``error``; ``exit_status``: the run's exit status.
    """
    records = list(records)
    counts: dict[str, int] = {}
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    payload = {
        "schema": SCHEMA,
        "nnspec_version": _version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "status": status,
        "exit_status": exit_status,
        "options": dict(options),
        "environment": dict(environment),
        "summary": counts,
        "levels": levels(records),
        "cells": [{"primitive": p, "dtype": d, **cell, "worst_ratio": _number(cell["worst_ratio"])}
                  for (p, d), cell in sorted(summarize(records).items())],
        "cases": [
            {"id": r.nodeid, "test": r.test, "primitive": r.primitive, "property": r.prop, "dtype": r.dtype,
             "outcome": r.outcome, "worst_ratio": _number(r.worst_ratio), "examples": r.examples,
             "excused_examples": r.excused_examples, "rejected": r.rejected, "rejected_reasons": r.rejected_reasons,
             "duration": round(r.duration, 3), "message": r.message, "replay": r.replay,
             "failures": [dict(f) for f in r.failures], "known_issues": sorted(r.known_issues)}
            for r in records
        ],
    }
    path = directory / "report.json"
    text = json.dumps(payload, indent=1, default=str, allow_nan=False)
    write_atomic(path, text)
    write_atomic(directory / "summary.md", markdown(records, environment))
    write_atomic(directory / "report.html", report_html.render(json.loads(text)))
    return path
