"""Measure the suite's false alarms: run a backend at a profile with several seeds and count what failed.

    python3 ci/false_alarms.py --backend torch --seeds 20 [--profile ci] [--jobs 2] [--dtype ...] [-k EXPR]

Each seed draws another sample of the profile's examples (``nnspec run --seed S``). A conforming backend must
pass every seed: a failure is either a framework bug (then a finding) or a budget that is not a bound (then a
bug of nnspec). Statistical checks (dropout's keep rate and independence) fail by chance at their stated
rates; they are listed apart. Prints a Markdown table for docs/false-alarms.md and exits 1 if any seed failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_seed(backend: str, seed: int, args: argparse.Namespace, folder: Path) -> dict:
    report = folder / f"{backend}-{seed}"
    command = [sys.executable, "-m", "nnspec", "run", "--backend", backend, "--profile", args.profile, "--seed",
               str(seed), "--jobs", str(args.jobs), "--report", str(report)]
    if args.dtype:
        command += ["--dtype", args.dtype]
    if args.keyword:
        command += ["-k", args.keyword]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    path = report / "report.json"
    payload = json.loads(path.read_text()) if path.exists() else {"cases": [], "summary": {}}
    bad = [case for case in payload["cases"] if case["outcome"] not in ("passed", "excused", "unsupported", "skipped")]
    return {"seed": seed, "exit": done.returncode, "seconds": elapsed, "summary": payload.get("summary", {}),
            "examples": sum(case.get("examples", 0) for case in payload["cases"]),
            "bad": [(case["id"], case["outcome"], case["message"].splitlines()[0] if case["message"] else "")
                    for case in bad]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", required=True)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dtype")
    parser.add_argument("-k", dest="keyword")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backend:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                result = run_seed(backend, seed, args, Path(folder))
                result["backend"] = backend
                results.append(result)
                print(f"{backend} seed {seed}: exit {result['exit']}, {result['examples']} examples, "
                      f"{len(result['bad'])} not passed, {result['seconds']:.0f} s", file=sys.stderr, flush=True)
    print("| backend | seeds | examples checked | runs with a failure | failures (test: first line) |")
    print("|---|---|---|---|---|")
    for backend in args.backend:
        mine = [r for r in results if r["backend"] == backend]
        failures = sorted({f"{test.split('::')[-1]} ({outcome}): {line}"
                           for r in mine for test, outcome, line in r["bad"]})
        print(f"| {backend} | {len(mine)} | {sum(r['examples'] for r in mine)} | "
              f"{sum(r['exit'] != 0 for r in mine)} | {'<br>'.join(failures) or 'none'} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if any(r["exit"] != 0 for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
