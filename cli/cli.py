"""The ``nnspec`` command: ``run`` the conformance suite, ``replay`` one recorded failing case, ``identify`` the
optimizer conventions a backend follows.

``nnspec run`` is a thin layer over pytest: the same suite runs as
``pytest --pyargs nnspec.conformance --backend torch``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]

PROFILES = ("quick", "ci", "thorough")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnspec", description="nnspec: the executable specification of neural-network training primitives, "
        "and the conformance suite that holds frameworks to it (docs: README.md, docs/adapters.md).")
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
    run.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                     help="worker processes (pytest-xdist; default 1): a test whose process crashes is reported as "
                          "'crashed' and the run goes on; N > 1 uses N cores; 0 runs in this process (no isolation)")
    run.add_argument("--seed", type=int, metavar="S",
                     help="draw other examples: the profile, randomized with seed S (reproducible); default: the "
                          "profile's fixed examples")
    run.add_argument("--no-shrink", action="store_true",
                     help="report each failing test's first failing example as drawn, without shrinking it (a quick "
                          "verdict for a backend with many failures; shrinking can take minutes)")
    run.add_argument("--call-timeout", type=float, default=None, metavar="SECONDS",
                     help="wall-clock limit of one backend call (outcome 'timeout'; default 120; 0: none)")
    run.add_argument("--test-timeout", type=float, default=1800.0, metavar="SECONDS",
                     help="wall-clock limit of one test; its worker is stopped and the test reported as 'timeout' "
                          "(default 1800; 0: none)")
    run.add_argument("--junit", metavar="FILE", help="also write JUnit XML here (CI systems annotate failures)")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests matching EXPR (pytest -k)")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    run.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")

    replay = commands.add_parser("replay", help="re-run one failing case written by a run")
    replay.add_argument("case", help="the case file named in the failure message")
    replay.add_argument("--backend", help="replay against another backend than the one that failed")
    replay.add_argument("--device", help="replay on another device")

    scaffold = commands.add_parser("new-backend", help="write an adapter package for your framework (runs green)")
    scaffold.add_argument("name", help="the backend's name, e.g. myfw")
    scaffold.add_argument("--directory", metavar="DIR", help="where to write it (default: ./nnspec-NAME)")

    from nnspec.conformance import sweep_runner

    sweep_runner.add_parser(commands)

    compare = commands.add_parser("compare", help="regressions, fixes and drift between two reports")
    compare.add_argument("old", help="the baseline report.json (or its folder)")
    compare.add_argument("new", help="the report to judge against it")
    compare.add_argument("--markdown", metavar="FILE", help="also write the summary as Markdown here")

    page = commands.add_parser("report-html", help="render a report.json as one self-contained HTML page")
    page.add_argument("report", help="a report.json (or its folder)")
    page.add_argument("-o", "--output", metavar="FILE", help="where to write it (default: report.html beside the "
                      "report; '-': stdout)")

    merge = commands.add_parser("merge", help="one matrix of several reports (the jobs of a CI matrix)")
    merge.add_argument("reports", nargs="+", help="report.json files or their folders")
    merge.add_argument("--output", metavar="FILE", help="also write the Markdown here")

    identify = commands.add_parser("identify", help="which named convention each optimizer (and loss, learning-"
                                   "rate schedule, gradient clipping, BatchNorm) of a backend follows")
    identify.add_argument("--backend", default="reference", help="as for run")
    identify.add_argument("--device", default="cpu", help="as for run")
    identify.add_argument("--dtype", default="float32", help="the dtype of the probes (default float32)")
    identify.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                          help="an option for the backend's constructor (repeatable)")
    identify.add_argument("--json", metavar="FILE", help="also write the fingerprints as JSON ('-': stdout)")
    return parser


def _usage_error(message: str) -> int:
    print(f"nnspec: {message}", file=sys.stderr)
    return 4


def _importable_from_here() -> None:
    """Make modules in the working directory importable, as ``python -m nnspec`` does, here and in the worker
    processes: ``--backend mymodule:MyBackend`` from the folder that holds mymodule.py."""
    import os

    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here, *paths])


def _check_run(args: argparse.Namespace) -> str | None:
    """Everything that can be checked before pytest starts: a usage error as one line, or None."""
    from nnspec.conformance import report, runconfig

    if args.report:  # first, so that no previous run's report survives a run that cannot start
        try:
            report.prepare(Path(args.report))
        except OSError as error:
            return f"--report {args.report}: cannot write there ({error})"
    try:
        runconfig.parse_dtypes(args.dtype)
        runconfig.parse_options(args.backend_option)
    except runconfig.RunError as error:
        return str(error)
    if args.jobs < 0:
        return f"--jobs: expected 0 or more worker processes, got {args.jobs}"
    for name in ("call_timeout", "test_timeout"):
        value = getattr(args, name)
        if value is not None and not value >= 0:
            return f"--{name.replace('_', '-')}: expected seconds >= 0, got {value}"
    run = runconfig.RunConfig(backend=args.backend, device=args.device, dtype=args.dtype,
                              backend_options=runconfig.parse_options(args.backend_option))
    try:
        runconfig.dtypes(run, runconfig.load(run).capabilities())  # loads the backend: exit 4 if it cannot run
    except runconfig.RunError as error:
        return str(error)
    return None


def _terminate_as_interrupt() -> None:
    """SIGTERM (what `timeout` and CI cancels send) behaves as Ctrl-C: the partial report is written, marked
    interrupted."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def _run(args: argparse.Namespace) -> int:
    import pytest

    import nnspec.conformance

    _importable_from_here()
    problem = _check_run(args)
    if problem is not None:
        return _usage_error(problem)
    _terminate_as_interrupt()

    # Test ids are relative to pytest's rootdir, and Hypothesis seeds a derandomized (ci) test from its id: a fixed
    # rootdir, the suite's parent, gives every test the id "conformance/test_*.py::..." from any working directory
    # and any installation, so the ci profile draws the same examples everywhere.
    rootdir = Path(nnspec.conformance.__file__).resolve().parent.parent
    argv = ["--pyargs", "nnspec.conformance", "--rootdir", str(rootdir), "-p", "no:cacheprovider",
            "-o", "addopts=", "-o", "testpaths=",
            "--backend", args.backend, "--device", args.device, "--dtype", args.dtype,
            "--hypothesis-profile", args.profile, "-r", "fE", "--tb=line",
            "--timeout", str(args.test_timeout), "--timeout-method", "thread",
            # `nnspec` itself is imported before pytest could rewrite its asserts; the suite uses none.
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            # pytest-benchmark, where installed, would only warn that xdist disables it
            "-p", "no:benchmark"]
    for option in args.backend_option:
        argv += ["--backend-option", option]
    if args.report:
        argv += ["--report", args.report]
    if args.junit:
        argv += ["--junitxml", args.junit, "-o", "junit_family=xunit2", "-o", "junit_suite_name=nnspec"]
    if args.call_timeout is not None:
        argv += ["--call-timeout", str(args.call_timeout)]
    if args.seed is not None:
        argv += ["--hypothesis-seed", str(args.seed), "--nnspec-randomize"]
    if args.no_shrink:
        argv.append("--nnspec-no-shrink")
    if args.jobs > 0:
        argv += ["-n", str(args.jobs), "--max-worker-restart", "1000", "--dist", "load"]
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
    from nnspec.conformance.guard import BackendError, BackendFault, BackendTimeout, GuardedBackend

    _importable_from_here()
    try:
        case = checks.load_case(args.case)
        name, options = _replay_backend(case, args.backend)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return _usage_error(f"replay {args.case}: {error}")
    try:
        backend = load_backend(name, args.device or str(case.get("device", "cpu")), **options)
    except Exception as error:  # any failure to construct the backend is a clean usage error
        return _usage_error(f"replay: cannot load backend {name!r}: {type(error).__name__}: {error}")
    try:
        comparisons = checks.run_case(GuardedBackend(backend), case)
    except (BackendFault, BackendError, BackendTimeout) as error:
        print(f"{backend.name} ({backend.device}) {case.get('dtype')} {case.get('primitive')} {case.get('kind')}")
        print(f"  FAIL: {type(error).__name__}: {error}")
        return 1
    failed = False
    print(f"{backend.name} ({backend.device}) {case['dtype']} {case['primitive']} {case['kind']}")
    for name, comparison in comparisons.items():
        failed |= not comparison.ok
        print(f"  {name}: {'ok' if comparison.ok else 'FAIL'}: {comparison.describe()}")
    return 1 if failed else 0


def _replay_backend(case: dict, override: str | None) -> tuple[str, dict[str, str]]:
    """Which backend a case file may name, and with which options.

    Case files travel in bug reports: they are data, never code. A file may name a built-in backend or an
    installed ``nnspec.backends`` entry point; a ``module:Class`` backend must be given on the command line
    (``--backend``), which is then also what the options are checked against. Options must be short strings.
    """
    from importlib.metadata import entry_points

    from nnspec.adapters import BUILTIN

    named = case.get("backend")
    if override is None:
        installed = {ep.name for ep in entry_points(group="nnspec.backends")}
        if not isinstance(named, str) or named not in set(BUILTIN) | installed:
            raise ValueError(f"the case names backend {named!r}; a case file may name only a built-in backend "
                             f"({', '.join(BUILTIN)}) or an installed nnspec.backends entry point: pass --backend "
                             "to replay it against another (for example a module:Class)")
    options = case.get("backend_options") or {}
    if not isinstance(options, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 256 for k, v in options.items()):
        raise ValueError(f"backend_options must map option names to short strings, got {options!r}")
    if override is not None and override != named:
        options = {}  # the options were the other backend's
    return override or named, dict(options)


def _identify(args: argparse.Namespace) -> int:
    """Print which variant each optimizer matches; exit 1 if a declaration disagrees or nothing matches."""
    import json

    from rich.console import Console

    from nnspec.conformance import feature_identify, identify, runconfig
    from nnspec.conformance.guard import GuardedBackend

    _importable_from_here()
    try:
        run = runconfig.RunConfig(backend=args.backend, device=args.device, dtype=args.dtype,
                                  backend_options=runconfig.parse_options(args.backend_option))
        if runconfig.parse_dtypes(args.dtype) is None or "," in args.dtype:
            raise runconfig.RunError(f"--dtype: identify takes one dtype, got {args.dtype!r}")
        backend = runconfig.load(run)
        runconfig.dtypes(run, backend.capabilities())
    except runconfig.RunError as error:
        return _usage_error(str(error))
    fingerprints = feature_identify.every_fingerprint(GuardedBackend(backend), args.dtype)
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


def _compare(args: argparse.Namespace) -> int:
    """Print the changes from OLD to NEW; exit 1 on a regression, 4 if a report cannot be read."""
    from nnspec.conformance import compare

    try:
        old, new = compare.load(Path(args.old)), compare.load(Path(args.new))
    except (OSError, ValueError) as error:
        return _usage_error(f"compare: {error}")
    changes = compare.compare(old, new)
    text = compare.render(old, new, changes)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 1 if any(change.kind == "regression" for change in changes) else 0


def _new_backend(args: argparse.Namespace) -> int:
    from nnspec.conformance import scaffold

    try:
        package = scaffold.package_name(args.name)
        directory = Path(args.directory or f"nnspec-{args.name}")
        written = scaffold.write(args.name, directory)
    except (OSError, ValueError) as error:
        return _usage_error(str(error))
    for path in written:
        print(f"wrote {path}")
    print(f"next: cd {directory} && nnspec run --backend {package}.backend:"
          f"{written[2].read_text().split('class ')[1].split('(')[0]} --report reports")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    """``nnspec sweep``: every input of an elementwise primitive (docs/sweeps.md); a bad request is exit 4."""
    from nnspec.conformance import sweep_runner
    from nnspec.conformance.guard import BackendError, BackendFault, BackendTimeout

    _importable_from_here()
    try:
        return sweep_runner.main(args)
    except (BackendFault, BackendError, BackendTimeout) as error:  # the backend broke the contract: a failure
        print(f"nnspec sweep: FAIL: {type(error).__name__}: {error}")
        return 1
    except ValueError as error:
        return _usage_error(str(error))


def _report_html(args: argparse.Namespace) -> int:
    """Write the HTML page of an existing report (any status, interrupted included); exit 4 on a bad file."""
    import json

    from nnspec.conformance import report_html

    path = Path(args.report) / "report.json" if Path(args.report).is_dir() else Path(args.report)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("nnspec-report/"):
            raise ValueError(f"{path}: not an nnspec report")
        page = report_html.render(data)
        output = None if args.output == "-" else Path(args.output or path.with_name("report.html"))
        if output is not None:
            output.write_text(page, encoding="utf-8")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return _usage_error(f"report-html: {error}")
    if output is None:
        sys.stdout.write(page)
    else:
        print(f"wrote {output}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    """Print one Markdown matrix of several complete reports; exit 1 if any run did not pass, 4 on a bad file."""
    from nnspec.conformance import compare

    try:
        reports = [compare.load(Path(path)) for path in args.reports]
    except (OSError, ValueError) as error:
        return _usage_error(f"merge: {error}")
    text = compare.merge(reports)
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0 if all(report.get("exit_status", 0) == 0 for report in reports) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "merge":
        return _merge(args)
    if args.command == "report-html":
        return _report_html(args)
    if args.command == "new-backend":
        return _new_backend(args)
    if args.command == "run":
        return _run(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "identify":
        return _identify(args)
    return _replay(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
