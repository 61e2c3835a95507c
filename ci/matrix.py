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

from nnspec.reference import catalogue

_KIND_AREA = {"elementwise": "activations", "rowwise": "activations", "loss": "losses", "layer": "dense layers"}
_OPTIMIZERS = {"sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam"}
AREAS = ("activations", "losses", "dense layers", "network", "optimizers", "dropout", "early stopping",
         "training step", "other")


def area(primitive: str) -> str:
    """The area of the spec a report cell belongs to."""
    names = {p.name: p for p in catalogue.PRIMITIVES}
    if primitive in names:
        return _KIND_AREA[names[primitive].kind]
    if primitive.split(":")[0] in _OPTIMIZERS:
        return "optimizers"
    for key, label in (("network", "network"), ("dropout", "dropout"), ("early", "early stopping"),
                       ("training", "training step"), ("epoch", "training step")):
        if primitive.startswith(key):
            return label
    return "other"


def _load(path: Path) -> dict:
    path = path / "report.json" if path.is_dir() else path
    return json.loads(path.read_text())


def render(reports: list[dict]) -> str:
    lines = ["| backend | version | device | dtype | " + " | ".join(AREAS) + " |",
             "|---|---|---|---|" + "---|" * len(AREAS)]
    notes = []
    for report in reports:
        backend = report["environment"].get("backend", {})
        counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        known = set()
        for case in report["cases"]:
            outcome = "failed" if case["outcome"] in ("failed", "error") else case["outcome"]
            counts[(case["dtype"], area(case["primitive"]))][outcome] += 1
            known.update(case.get("known_issues", []))
        for dtype in sorted({d for d, _ in counts}, key=lambda d: ("float64", "float32", "float16").index(d)
                            if d in ("float64", "float32", "float16") else 9):
            cells = []
            for name in AREAS:
                c = counts.get((dtype, name), {})
                if not c:
                    cells.append("")
                elif c.get("failed"):
                    cells.append(f"**{c['failed']} fail** / {c.get('passed', 0)} pass")
                elif c.get("passed"):
                    unsupported = f", {c['unsupported']} unsup." if c.get("unsupported") else ""
                    cells.append(f"{c['passed']} pass{unsupported}")
                else:
                    cells.append("unsupported")
            lines.append(f"| {report['options']['backend']} | {backend.get('version', '?')} | "
                         f"{backend.get('device_name', '?')} | {dtype} | " + " | ".join(cells) + " |")
        declared = report["environment"].get("declared", {})
        for primitive, convention in sorted(declared.get("conventions", {}).items()):
            notes.append(f"- {report['options']['backend']}: {primitive} follows the named variant {convention}")
        for optimizer, convention in sorted(declared.get("optimizers", {}).items()):
            if convention:
                notes.append(f"- {report['options']['backend']}: optimizer {optimizer} follows {convention}")
        if known:
            notes.append(f"- {report['options']['backend']}: known issues excused: {', '.join(sorted(known))} "
                         "(docs/findings.md)")
    return "\n".join(lines + [""] + notes) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    text = render([_load(p) for p in args.reports])
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
