"""Build the conformance matrix (backend x dtype x area) from real `nnspec run --report` outputs.

Usage: python3 ci/matrix.py reports/torch reports/jax reports/tensorflow [--output docs/conformance-matrix.md]
Each argument is a report directory (or a report.json). The matrix says, per backend and dtype, how many checks
of each area passed / failed / were unsupported, and lists every named convention and known issue that applied.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from nnspec.adapters.base import PRECISION_FACTS
from nnspec.reference import catalogue, initializers

_KIND_AREA = {"elementwise": "activations", "rowwise": "activations", "loss": "losses", "layer": "dense layers",
             "normalization": "normalization"}
AREAS = ("activations", "losses", "dense layers", "normalization", "network", "optimizers", "gradient clipping",
         "lr schedules", "dropout", "early stopping", "training step", "initializers", "other")


def area(primitive: str) -> str:
    """The area of the spec a report cell belongs to."""
    names = {p.name: p for p in catalogue.PRIMITIVES}
    if primitive in names:
        return _KIND_AREA[names[primitive].kind]
    if primitive.split(":")[0] in catalogue.optimizers():
        return "optimizers"
    if primitive in initializers.INITIALIZERS or primitive == "dense_default_init":
        return "initializers"
    for key, label in (("network", "network"), ("gradient_clipping", "gradient clipping"),
                       ("schedule", "lr schedules"), ("dropout", "dropout"), ("early", "early stopping"),
                       ("training", "training step"), ("epoch", "training step")):
        if primitive.startswith(key):
            return label
    return "other"


class IncompleteReport(ValueError):
    """A report that does not describe a whole run: the matrix would present its gaps as results."""


def _load(path: Path) -> dict:
    """A complete report: an interrupted or failed-to-start run's report, or one from an older schema that does
    not say whether it is complete, is refused (IncompleteReport)."""
    path = path / "report.json" if path.is_dir() else path
    report = json.loads(path.read_text())
    status = report.get("status")
    if status != "complete":
        raise IncompleteReport(f"{path}: the report's status is {status!r}, not 'complete' (rerun it; "
                               "docs/report-schema.md#status)")
    not_run = [case["id"] for case in report.get("cases", []) if case.get("outcome") == "not run"]
    if not_run:
        raise IncompleteReport(f"{path}: {len(not_run)} test(s) never ran, e.g. {not_run[0]}")
    return report


#: the keys of a report's optimizer declaration (``OptimizerDeclaration.to_json``) that are not conventions
_FACTS = (*PRECISION_FACTS, "state_not_held")


def _cell(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    if counts.get("failed"):
        return f"**{counts['failed']} fail** / {counts.get('passed', 0)} pass"
    if counts.get("passed") or counts.get("excused"):
        unsupported = f", {counts['unsupported']} unsup." if counts.get("unsupported") else ""
        excused = f", {counts['excused']} excused" if counts.get("excused") else ""
        return f"{counts.get('passed', 0)} pass{excused}{unsupported}"
    return "unsupported"


def _outcomes(report: dict) -> list[str]:
    backend = report["environment"].get("backend", {})
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for case in report["cases"]:
        outcome = "failed" if case["outcome"] in ("failed", "error", "timeout", "crashed") else case["outcome"]
        counts[(case["dtype"], area(case["primitive"]))][outcome] += 1
    order = ("float64", "float32", "float16", "bfloat16")
    rows = []
    for dtype in sorted({d for d, _ in counts}, key=lambda d: order.index(d) if d in order else 9):
        cells = [_cell(counts.get((dtype, name), {})) for name in AREAS]
        rows.append(f"| {report['options']['backend']} | {backend.get('version', '?')} | "
                    f"{backend.get('device_name', '?')} | {dtype} | " + " | ".join(cells) + " |")
    return rows


def _values(mapping: dict) -> str:
    return "<br>".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in mapping.items()) or "(spec)"


def _side_by_side(reports: list[dict]) -> list[str]:
    """One row per primitive or optimizer with a declared convention, one column per backend. A value in bold
    differs from the spec's default (the reference backend's declaration, else none): that is a divergence,
    named by its convention."""
    first = {}  # one column per backend (several reports of a backend, e.g. per dtype, declare the same)
    for r in reports:
        first.setdefault(r["options"]["backend"], r)
    names, declared = list(first), [r["environment"].get("declared", {}) for r in first.values()]
    spec = first["reference"]["environment"].get("declared", {}) if "reference" in first else {}
    rows = ["| convention of | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    primitives = sorted({p for d in declared for p in d.get("conventions", {})})
    optimizers = [o for o in catalogue.optimizers() if any(o in d.get("optimizers", {}) for d in declared)]
    for kind, items in (("conventions", primitives), ("optimizers", optimizers)):
        for item in items:
            default = spec.get(kind, {}).get(item, {})
            cells = []
            for d in declared:
                if kind == "optimizers" and item not in d.get(kind, {}):
                    cells.append("unsupported")
                    continue
                conventions = {k: v for k, v in d.get(kind, {}).get(item, {}).items() if k not in _FACTS}
                shown = [f"{k}={v}" if default.get(k, object()) == v else f"**{k}={v}**"
                         for k, v in sorted(conventions.items())]
                cells.append("<br>".join(shown) or "(spec)")
            rows.append(f"| {item} | " + " | ".join(cells) + " |")
    return rows


def render(reports: list[dict], command: str = "") -> str:
    """The whole page: where each report came from, outcomes per area, conventions side by side, and the
    precision facts and known issues that applied."""
    lines = ["# Conformance matrix", "",
             f"Generated by `{command or 'python3 ci/matrix.py'}` from these runs of `nnspec run`:", ""]
    for report in reports:
        backend, options = report["environment"].get("backend", {}), report["options"]
        summary = ", ".join(f"{v} {k}" for k, v in sorted(report.get("summary", {}).items()))
        lines.append(f"- {options['backend']} {backend.get('version', '?')} on {backend.get('device_name', '?')}, "
                     f"profile `{options.get('profile')}`, {report.get('created', '?')}: {summary}")
    lines += ["", "Runs on GPUs (torch CUDA, JAX on an H200) are reported in [gpu.md](gpu.md)."]
    lines += ["", "Each cell counts tests (each is many Hypothesis examples) per area: pass, **fail**, or unsupported "
              "(not declared by the backend).", "",
              "| backend | version | device | dtype | " + " | ".join(AREAS) + " |",
              "|---|---|---|---|" + "---|" * len(AREAS)]
    for report in reports:
        lines += _outcomes(report)
    lines += ["", "## Conventions, side by side", "",
              "What each backend declares and `nnspec run` held it to (docs/spec/; `nnspec identify` confirms the "
              "optimizer rows by running them). **Bold**: a value that differs from the spec's default (the reference "
              "column), i.e. a divergence, named by its convention; (spec): none declared.", ""]
    lines += _side_by_side(reports)
    lines += ["", "## Precision facts, state not held, known issues", ""]
    listed = set()
    for report in reports:
        if report["options"]["backend"] in listed:
            continue
        listed.add(report["options"]["backend"])
        name, declared = report["options"]["backend"], report["environment"].get("declared", {})
        for optimizer, conventions in declared.get("optimizers", {}).items():
            facts = {k: v for k, v in conventions.items() if k in _FACTS}
            if facts:
                lines.append(f"- {name}: {optimizer}: {_values(facts).replace('<br>', ', ')} "
                             "(docs/spec/optimizers.md#precision)")
        known = sorted({k for other in reports if other["options"]["backend"] == report["options"]["backend"]
                        for case in other["cases"] for k in case.get("known_issues", [])})
        if known:
            lines.append(f"- {name}: known issues excused: {', '.join(known)} (docs/findings.md)")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    shown = " ".join(["python3 ci/matrix.py", *(str(p) for p in args.reports)])
    try:
        reports = [_load(p) for p in args.reports]
    except (IncompleteReport, OSError, json.JSONDecodeError) as error:
        print(f"matrix: {error}", file=sys.stderr)
        return 2
    text = render(reports, shown)
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
