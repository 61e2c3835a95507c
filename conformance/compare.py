"""``nnspec compare OLD NEW``: what changed between two reports of the same backend (framework versions, builds,
machines): regressions, fixes, newly excused or unsupported cells, and error/budget drift per cell.

A regression is a cell (primitive x dtype) that passed (or was excused) in OLD and now fails, errors, times out,
crashes or is missing, or a cell that passed and is now only excused. The exit status is 1 when there is one,
so a CI job fails on it (docs/ci/README.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Change", "load", "compare", "render", "merge", "DRIFT"]

#: A passing cell whose worst error/budget grew by this factor (and is above 0.1) is reported as drift: still
#: within budget, but the new version computes less accurately there.
DRIFT = 4.0

_OK = ("passed", "excused")
_FAILING = ("failed", "error", "timeout", "crashed", "interrupted", "not run")


@dataclass(frozen=True)
class Change:
    kind: str  # regression, fixed, newly excused, no longer excused, now unsupported, newly supported, drift, new
    primitive: str
    dtype: str
    old: str
    new: str
    detail: str = ""


def load(path: Path) -> dict:
    """A report.json (or its folder); refused with ValueError if it is not an nnspec report."""
    path = Path(path)
    path = path / "report.json" if path.is_dir() else path
    report = json.loads(path.read_text())
    if not str(report.get("schema", "")).startswith("nnspec-report/"):
        raise ValueError(f"{path}: not an nnspec report (schema {report.get('schema')!r})")
    if report.get("status", "complete") != "complete":
        raise ValueError(f"{path}: the run was {report.get('status')}: compare complete reports only")
    return report


def _ratio(value) -> float:
    return float(value) if not isinstance(value, str) else (math.inf if "inf" in value else math.nan)


def _cells(report: Mapping) -> dict[tuple[str, str], dict]:
    return {(cell["primitive"], cell["dtype"]): cell for cell in report.get("cells", [])}


def compare(old: Mapping, new: Mapping) -> list[Change]:
    """Every change of a cell from ``old`` to ``new`` that a CI maintainer needs to see."""
    before, after = _cells(old), _cells(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        was = a["status"] if a else "absent"
        now = b["status"] if b else "absent"
        if a is None:
            changes.append(Change("new", *key, was, now))
            continue
        detail = ""
        if b is not None and now in _FAILING:
            first = next((c for c in new.get("cases", []) if c.get("primitive") == key[0] and c.get("dtype") == key[1]
                          and c.get("outcome") in _FAILING), None)
            detail = (first or {}).get("message", "").splitlines()[0] if first and first.get("message") else ""
        if was in _OK and (now in _FAILING or now == "absent"):
            changes.append(Change("regression", *key, was, now, detail))
        elif was == "passed" and now == "excused":
            changes.append(Change("regression", *key, was, now, "everything checked is now excused"))
        elif was in _FAILING and now in _OK:
            changes.append(Change("fixed", *key, was, now))
        elif was in _OK and now == "unsupported":
            changes.append(Change("now unsupported", *key, was, now))
        elif was == "unsupported" and now in _OK:
            changes.append(Change("newly supported", *key, was, now))
        elif was in _FAILING and now in _FAILING and was != now:
            changes.append(Change("still failing", *key, was, now, detail))
        if was in _OK and now in _OK and b is not None:
            new_known = set(b.get("known_issues", ())) - set(a.get("known_issues", ()))
            gone_known = set(a.get("known_issues", ())) - set(b.get("known_issues", ()))
            if new_known:
                changes.append(Change("newly excused", *key, was, now, ", ".join(sorted(new_known))))
            if gone_known:
                changes.append(Change("no longer excused", *key, was, now, ", ".join(sorted(gone_known))))
            r0, r1 = _ratio(a.get("worst_ratio", 0)), _ratio(b.get("worst_ratio", 0))
            if r1 > 0.1 and r1 > DRIFT * max(r0, 1e-300):
                changes.append(Change("drift", *key, f"{r0:.2g}", f"{r1:.2g}",
                                      f"worst error/budget grew {r1 / r0 if r0 else math.inf:.3g}x"))
    return changes


def _describe(report: Mapping) -> str:
    backend = report.get("environment", {}).get("backend", {})
    return f"{report.get('options', {}).get('backend', '?')} {backend.get('version', '?')}"


def render(old: Mapping, new: Mapping, changes: list[Change]) -> str:
    """A Markdown summary (for a PR comment or a CI log)."""
    regressions = [c for c in changes if c.kind == "regression"]
    lines = [f"# nnspec compare: {_describe(old)} -> {_describe(new)}", "",
             f"{len(regressions)} regression(s), {sum(c.kind == 'fixed' for c in changes)} fixed, "
             f"{len(changes)} change(s) in all.", ""]
    if changes:
        lines += ["| change | primitive | dtype | old | new | detail |", "|---|---|---|---|---|---|"]
        order = ("regression", "still failing", "now unsupported", "newly excused", "drift", "fixed",
                 "no longer excused", "newly supported", "new")
        for change in sorted(changes, key=lambda c: (order.index(c.kind) if c.kind in order else 99, c.primitive)):
            detail = change.detail.replace("|", "\\|")
            lines.append(f"| {'**' + change.kind + '**' if change.kind == 'regression' else change.kind} | "
                         f"{change.primitive} | {change.dtype} | {change.old} | {change.new} | {detail} |")
    return "\n".join(lines) + "\n"


def merge(reports: list[Mapping]) -> str:
    """``nnspec merge``: one Markdown matrix of several runs (backend x version x device x dtypes), with each
    run's conformance levels and outcome counts; the runs of a CI matrix, side by side."""
    level_names: list[str] = []
    for report in reports:
        level_names += [name for name in report.get("levels", {}) if name not in level_names]
    lines = ["# nnspec conformance matrix", "",
             "| backend | version | device | dtypes | status | " + " | ".join(level_names) + " | outcomes |",
             "|---" * (6 + len(level_names)) + "|"]
    badge = {"reached": "✅", "not reached": "❌", "not declared": "➖"}
    for report in sorted(reports, key=lambda r: (r.get("options", {}).get("backend", ""),
                                                   r.get("options", {}).get("dtypes", ""))):
        options, backend = report.get("options", {}), report.get("environment", {}).get("backend", {})
        levels = report.get("levels", {})
        counts = ", ".join(f"{n} {o}" for o, n in sorted(report.get("summary", {}).items()))
        cells = [options.get("backend", "?"), backend.get("version", "?"), options.get("device", "?"),
                 options.get("dtypes", "?"), report.get("status", "?")]
        cells += [badge.get(levels.get(name, ""), "") for name in level_names] + [counts]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
