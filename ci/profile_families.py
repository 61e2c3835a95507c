"""Where a `nnspec run` spends its time, per test family: generation, reference, budget, backend dispatch, ...

Usage: python3 ci/profile_families.py [--backend torch] [--profile ci] [--dtype declared] [-k EXPR] [--rate 200]
(docs/benchmarks.md#per-example-cost quotes its table). Speed is measured here, never asserted in a test.

One `nnspec run --jobs 0` (pytest in the run's own process) is sampled by py-spy (``pip install py-spy``; a
sampling profiler, so the run is not slowed by instrumentation). Each sample inside a test's call is charged to
what the test was doing: from the test's body down the stack, the first frame that is one of the kinds below
decides (a helper of the checker, such as ``checks.forward``, is looked through):

  generation       Hypothesis' strategies and nnspec's (conformance/strategies)
  engine           Hypothesis' engine around the test body (choosing, mutating, caching, shrinking)
  backend          the adapter and the framework under test
  reference        nnspec's numpy reference (reference/)
  oracle           the independent SymPy/mpmath oracles (conformance/oracles)
  budget           error budgets: errormodel, budgets, the rooms' bounds
  compare          comparing observed with expected against the budget (conformance/comparison.py)
  contract         the guard's contract checks (read-only copies, inputs unchanged, values in the dtype)
  excuses          judging known issues (conformance/excuses.py, adapters' known-issue rules)
  bookkeeping      everything else inside the test (the checker, records, pytest's skip/raise machinery)

Examples per test come from the run's report.json; seconds are each test call's CPU time (user + sys, measured
in the run by the plugin ci/cpu_per_test.py), so "examples/s" is per core and other work on the machine does not
inflate it. The shares come from the samples (py-spy counts a thread waiting for a core as active, which
weighs a busy moment more, but not one family more than another).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CATEGORIES = ("generation", "engine", "backend", "reference", "oracle", "budget", "compare", "contract",
              "excuses", "bookkeeping")

#: (pattern on a frame's file, category); the first frame below the test body that matches one decides.
_GENERATION = re.compile(r"^(hypothesis/strategies|hypothesis/extra|conformance/strategies/)")
_KINDS = [
    (_GENERATION, "generation"),
    (re.compile(r"^(adapters/known_issue_rules|adapters/\w+/known_issues|conformance/excuses)"), "excuses"),
    (re.compile(r"^(adapters/|torch/|jax/|jaxlib/|optax/|tensorflow/|keras/|tf_keras/)"), "backend"),
    (re.compile(r"^reference/"), "reference"),
    (re.compile(r"^conformance/oracles/"), "oracle"),
    (re.compile(r"^conformance/comparison"), "compare"),
    (re.compile(r"^(sympy|mpmath)/"), "oracle"),
]
#: Frames looked through: the checker and its helpers dispatch to the kinds above; what runs in their own lines
#: (and the numpy they call) is bookkeeping, in the guard it is the contract checks. Every other conformance
#: module is a room or the error model: budget.
_DISPATCH = re.compile(r"^(conformance/(checker|checks|session|plugin|excuses|\w+_checks|test_\w+)\.py"
                       r"|hypothesis/|_pytest/|pluggy/)")
_GUARD = re.compile(r"^conformance/guard\.py")
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+):\d+\)$")


def _category(frames: list[tuple[str, str]]) -> str | None:
    """The category of one sample (frames root first), or None outside a test's call."""
    calls = [i for i, (func, _) in enumerate(frames) if func == "pytest_runtest_call"]
    if not calls:
        return None
    below = frames[calls[0] + 1:]
    bodies = [i for i, (func, file) in enumerate(below)
              if re.match(r"conformance/test_\w+\.py$", file) and not func.startswith("accept.")]
    if not bodies:  # between examples: Hypothesis choosing and drawing the @given arguments
        return "generation" if any(_GENERATION.match(f) for _, f in below) else "engine"
    fallback = "bookkeeping"
    for _, file in below[bodies[-1] + 1:]:
        for pattern, kind in _KINDS:
            if pattern.match(file):
                return kind
        if _GUARD.match(file):
            fallback = "contract"
        elif _DISPATCH.match(file):
            fallback = "bookkeeping"
        elif file.startswith("conformance/"):
            return "budget"  # errormodel, budgets and the rooms (conformance/activations/, dropout.py, ...)
    return fallback


def _family(test_id: str) -> str:
    return Path(test_id.split("::")[0]).stem.removeprefix("test_")


def _samples(raw: Path) -> collections.Counter:
    """(family, category) -> samples, from py-spy's raw (collapsed stack) output."""
    counts: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = []
        for part in stack.split(";"):
            match = _FRAME.match(part)
            frames.append((match["func"], match["file"]) if match else (part, ""))
        category = _category(frames)
        if category is None:
            continue
        family = next((Path(f).stem.removeprefix("test_") for _, f in frames
                       if re.match(r"conformance/test_\w+\.py$", f)), "?")
        counts[family, category] += int(count)
    return counts


def _record(args: argparse.Namespace, raw: Path, report: Path) -> int:
    """Run the suite under py-spy, writing its samples to ``raw`` and its report to ``report``."""
    run = [sys.executable, "-m", "nnspec", "run", "--backend", args.backend, "--profile", args.profile,
           "--dtype", args.dtype, "--jobs", "0", "--report", str(report)]
    run += (["-k", args.keyword] if args.keyword else []) + ["--", "-p", "cpu_per_test"]
    here = str(Path(__file__).resolve().parent)
    env = dict(os.environ, NNSPEC_CPU_PER_TEST=str(raw.parent / "cpu.json"),
               PYTHONPATH=os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    done = subprocess.run(["py-spy", "record", "--format", "raw", "--rate", str(args.rate), "--output", str(raw),
                           "--", *run], cwd=raw.parent, capture_output=True, text=True, env=env)
    if not raw.exists():
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--dtype", default="declared")
    parser.add_argument("-k", dest="keyword", default=None)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--output", type=Path, default=None, help="also write the table to this file")
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this folder and keep the samples (raw.txt) and the report there; if it holds "
                             "them already, only tabulate them again")
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        parser.error("needs py-spy on PATH: python3 -m pip install py-spy")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        raw, report = folder / "raw.txt", folder / "report"
        returncode = _record(args, raw, report) if not raw.exists() else 0
        if not raw.exists():
            return 1
        counts = _samples(raw)
        cases = json.loads((report / "report.json").read_text())["cases"]
        cpu = json.loads((folder / "cpu.json").read_text())
    seconds: collections.Counter = collections.Counter()
    for nodeid, spent in cpu.items():
        seconds[_family(nodeid)] += spent
    examples = collections.Counter()
    for case in cases:
        examples[_family(case["id"])] += case.get("examples", 0)
    families = sorted({family for family, _ in counts} & set(seconds), key=lambda f: -seconds[f])
    head = ["family", "examples", "seconds", "examples/s", *CATEGORIES]
    lines = [f"`nnspec run --backend {args.backend} --profile {args.profile} --dtype {args.dtype} --jobs 0"
             f"{' -k ' + args.keyword if args.keyword else ''}` (exit {returncode}), sampled by py-spy at "
             f"{args.rate}/s; seconds: CPU seconds in the tests' calls; then each family's share of them:", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for family in families + ["all"]:
        picked = families if family == "all" else [family]
        per = {c: sum(counts[f, c] for f in picked) for c in CATEGORIES}
        total = sum(per.values())
        spent = sum(seconds[f] for f in picked)
        n = sum(examples[f] for f in picked)
        rate = f"{n / spent:.0f}" if spent and n else "-"
        shares = [f"{100 * per[c] / total:.0f} %" if total else "-" for c in CATEGORIES]
        lines.append(f"| {family} | {n} | {spent:.1f} | {rate} | " + " | ".join(shares) + " |")
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
