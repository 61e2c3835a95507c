"""Benchmark: wall time of the suite's main runs on this machine, written as a Markdown table.

Usage: python3 ci/benchmark.py [--repeat N] [--output FILE]     (docs/benchmarks.md quotes its table)
Speed is measured here, never asserted in a test. Each run is a fresh `nnspec run` process (start-up included).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = {
    "reference, ci profile": ["--backend", "reference", "--profile", "ci"],
    "torch cpu, ci profile": ["--backend", "torch", "--profile", "ci"],
    "torch cpu, quick profile": ["--backend", "torch", "--profile", "quick"],
}


def _time(args: list[str]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "nnspec", "run", *args], cwd=scratch,
                              capture_output=True, text=True)
        return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"{args.repeat} runs each, median (min-max) seconds, start-up included.", "",
             "| run | wall time (s) | exit |", "|---|---|---|"]
    for label, run_args in RUNS.items():
        results = [_time(run_args) for _ in range(args.repeat)]
        times = [t for t, _ in results]
        lines.append(f"| `nnspec run {' '.join(run_args)}` ({label}) | {statistics.median(times):.1f} "
                     f"({min(times):.1f}-{max(times):.1f}) | {results[-1][1]} |")
        print(lines[-1], flush=True)
    if args.output:
        args.output.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
