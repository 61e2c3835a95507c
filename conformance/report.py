"""The end-of-run summary table (primitive x dtype) and the versioned JSON report."""

from __future__ import annotations

import datetime
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from nnspec import __version__

__all__ = ["SCHEMA", "summarize", "print_summary", "write"]

#: Bump the number on any incompatible change of the JSON layout (docs/report-schema.md).
SCHEMA = "nnspec-report/1"

_RANK = {"failed": 3, "error": 3, "passed": 1, "unsupported": 0, "skipped": 0, "not run": 0}


def summarize(records: Iterable) -> dict[tuple[str, str], dict[str, object]]:
    """Aggregate records into cells (primitive, dtype) -> {"status", "worst_ratio", "tests"}.

    A cell fails if any of its tests failed; it passes if at least one ran and none failed; otherwise it is
    unsupported. worst_ratio is the largest error/budget seen in the cell.
    """
    cells: dict[tuple[str, str], dict[str, object]] = {}
    for record in records:
        cell = cells.setdefault((record.primitive, record.dtype),
                                {"status": "unsupported", "worst_ratio": 0.0, "tests": 0, "known_issues": []})
        cell["tests"] += 1
        cell["known_issues"] = sorted(set(cell["known_issues"]) | record.known_issues)
        status = "failed" if record.outcome in ("failed", "error") else record.outcome
        if _RANK.get(status, 0) > _RANK.get(cell["status"], 0):
            cell["status"] = status
        cell["worst_ratio"] = max(cell["worst_ratio"], record.worst_ratio)
    return cells


def _table(records: Iterable, environment: Mapping[str, object]):
    from rich.table import Table

    records = list(records)
    cells = summarize(records)
    dtypes = sorted({d for _, d in cells}, key=lambda d: ("float64", "float32", "float16", "bfloat16").index(d)
                    if d in ("float64", "float32", "float16", "bfloat16") else 9)
    backend = environment.get("backend", {})
    title = f"nnspec {__version__}: {backend.get('framework', '?')} {backend.get('version', '')} " \
            f"on {backend.get('device_name', '?')}"
    table = Table(title=title, caption="cell: outcome, worst error/budget over all checks (pass needs <= 1); "
                                       "+known: a documented known issue was excused (see report.json)")
    table.add_column("primitive")
    for dtype in dtypes:
        table.add_column(dtype, justify="right")
    style = {"passed": "green", "failed": "bold red", "unsupported": "dim", "skipped": "dim"}
    for primitive in sorted({p for p, _ in cells}):
        row = [primitive]
        for dtype in dtypes:
            cell = cells.get((primitive, dtype))
            if cell is None:
                row.append("")
                continue
            status = cell["status"]
            text = status if status in ("unsupported", "skipped") else f"{status} {cell['worst_ratio']:.2g}"
            if cell["known_issues"]:
                text += " +known"
            row.append(f"[{style.get(status, '')}]{text}[/]")
        table.add_row(*row)
    return table


def print_summary(records: Iterable, environment: Mapping[str, object], terminalreporter) -> None:
    """Print the summary table through pytest's terminal reporter."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminalreporter.isatty(), width=110)
    console.print(_table(records, environment))
    terminalreporter.write_sep("=", "nnspec conformance summary")
    terminalreporter.write(buffer.getvalue())


def _number(value: float) -> float | str:
    """JSON has no infinity: a non-finite ratio is written as the string "inf" (or "nan")."""
    return value if math.isfinite(value) else str(value)


def write(directory: Path, records: Iterable, environment: Mapping[str, object],
          options: Mapping[str, object]) -> Path:
    """Write ``report.json`` (schema :data:`SCHEMA`) into ``directory`` and return its path."""
    records = list(records)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    payload = {
        "schema": SCHEMA,
        "nnspec_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "options": dict(options),
        "environment": dict(environment),
        "summary": counts,
        "cells": [{"primitive": p, "dtype": d, **cell, "worst_ratio": _number(cell["worst_ratio"])}
                  for (p, d), cell in sorted(summarize(records).items())],
        "cases": [
            {"id": r.nodeid, "test": r.test, "primitive": r.primitive, "property": r.prop, "dtype": r.dtype,
             "outcome": r.outcome, "worst_ratio": _number(r.worst_ratio), "examples": r.examples, "message": r.message,
             "replay": r.replay, "known_issues": sorted(r.known_issues)}
            for r in records
        ],
    }
    path = directory / "report.json"
    path.write_text(json.dumps(payload, indent=1, default=str, allow_nan=False))
    return path
