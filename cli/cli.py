"""The ``nnspec`` command: ``run`` the conformance suite, ``replay`` one recorded failing case, ``identify`` the
optimizer conventions a backend follows.

``nnspec run`` is a thin layer over pytest: the same suite runs as
``pytest --pyargs nnspec.conformance --backend torch``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

PROFILES = ("quick", "ci", "thorough")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnspec", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the conformance suite against a backend")
    run.add_argument("--backend", default="reference",
                     help="reference (default), torch, module:Class, or an nnspec.backends entry point")
    run.add_argument("--device", default="cpu", help="cpu (default), cuda, mps, ...")
    run.add_argument("--dtype", default="declared",
                     help="comma-separated dtypes, or 'declared' (default): every dtype the backend declares")
    run.add_argument("--profile", choices=PROFILES, default="ci", help="Hypothesis profile (default ci)")
    run.add_argument("--report", metavar="DIR", help="write DIR/report.json and failing cases to DIR/failures")
    run.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                     help="an option for the backend's constructor (repeatable)")
    run.add_argument("--no-known-issues", action="store_true",
                     help="do not excuse the backend's documented known issues (docs/findings.md)")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests matching EXPR (pytest -k)")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    run.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")

    replay = commands.add_parser("replay", help="re-run one failing case written by a run")
    replay.add_argument("case", help="the case file named in the failure message")
    replay.add_argument("--backend", help="replay against another backend than the one that failed")
    replay.add_argument("--device", help="replay on another device")

    identify = commands.add_parser("identify", help="which named convention each optimizer of a backend follows")
    identify.add_argument("--backend", default="reference", help="as for run")
    identify.add_argument("--device", default="cpu", help="as for run")
    identify.add_argument("--dtype", default="float32", help="the dtype of the probes (default float32)")
    identify.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                          help="an option for the backend's constructor (repeatable)")
    identify.add_argument("--json", metavar="FILE", help="also write the fingerprints as JSON ('-': stdout)")
    return parser


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pytest

    import nnspec.conformance

    # Test ids are relative to pytest's rootdir, and Hypothesis seeds a derandomized (ci) test from its id: a fixed
    # rootdir, the suite's parent, gives every test the id "conformance/test_*.py::..." from any working directory
    # and any installation, so the ci profile draws the same examples everywhere.
    rootdir = Path(nnspec.conformance.__file__).resolve().parent.parent
    argv = ["--pyargs", "nnspec.conformance", "--rootdir", str(rootdir), "-p", "no:cacheprovider",
            "-o", "addopts=", "-o", "testpaths=",
            "--backend", args.backend, "--device", args.device, "--dtype", args.dtype,
            "--hypothesis-profile", args.profile, "-r", "fE", "--tb=line",
            # `nnspec` itself is imported before pytest could rewrite its asserts; the suite uses none.
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    for option in args.backend_option:
        argv += ["--backend-option", option]
    if args.report:
        argv += ["--report", args.report]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.exitfirst:
        argv.append("-x")
    if args.no_known_issues:
        argv.append("--no-known-issues")
    code = int(pytest.main(argv + list(args.pytest_args)))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("nnspec: no test was selected (check -k and --dtype)", file=sys.stderr)
    return code


def _replay(args: argparse.Namespace) -> int:
    from nnspec.adapters import load_backend
    from nnspec.conformance import checks

    case = checks.load_case(args.case)
    backend = load_backend(args.backend or case["backend"], args.device or case["device"],
                           **(case.get("backend_options") or {}))
    comparisons = checks.run_case(backend, case)
    failed = False
    print(f"{backend.name} ({backend.device}) {case['dtype']} {case['primitive']} {case['kind']}")
    for name, comparison in comparisons.items():
        failed |= not comparison.ok
        print(f"  {name}: {'ok' if comparison.ok else 'FAIL'}: {comparison.describe()}")
    return 1 if failed else 0


def _identify(args: argparse.Namespace) -> int:
    """Print which variant each optimizer matches; exit 1 if a declaration disagrees or nothing matches."""
    import json

    from rich.console import Console

    from nnspec.adapters import load_backend
    from nnspec.conformance import identify

    options = dict(option.partition("=")[::2] for option in args.backend_option)
    backend = load_backend(args.backend, args.device, **options)
    fingerprints = identify.identify(backend, dtype=args.dtype)
    title = f"nnspec identify: {backend.name} ({args.device}, {args.dtype})"
    if args.json == "-":
        print(json.dumps(identify.to_json(fingerprints), indent=1))
    else:
        Console().print(identify.table(fingerprints, title))
    if args.json and args.json != "-":
        with open(args.json, "w") as handle:
            json.dump(identify.to_json(fingerprints), handle, indent=1)
    wrong = [f for f in fingerprints if f.agrees is False or (f.declared is not None and f.status == "no match")]
    return 1 if wrong else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "identify":
        return _identify(args)
    return _replay(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
