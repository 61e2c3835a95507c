"""What a run was asked to do, validated before the first test (docs/report-schema.md#exit-status).

Every way to ask for something that cannot be checked is a usage error (exit 4, one line) before collection:
an unknown or empty ``--dtype``, a dtype the backend does not declare, a device it does not list, a backend that
cannot be loaded (any exception of its constructor or of ``capabilities()``), a feature or an optimizer
declaration the catalogue does not know (``OptimizerDeclaration.validate``), an unwritable ``--report`` folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nnspec.adapters import load_backend
from nnspec.adapters.base import Backend, Capabilities, OptimizerDeclaration
from nnspec.reference import catalogue
from nnspec.reference import dtypes as formats

__all__ = ["RunConfig", "RunError", "parse_dtypes", "parse_options", "from_pytest", "load", "dtypes",
           "suite_selected", "import_suite", "nameable_in_case", "DEFAULT_CALL_TIMEOUT", "DEFAULT_TEST_TIMEOUT"]

#: Wall-clock seconds one backend call may take (a JAX compile takes a few): past it, outcome "timeout".
DEFAULT_CALL_TIMEOUT = 120.0
#: Wall-clock seconds one test (all its examples and shrinking) may take before its worker is stopped.
DEFAULT_TEST_TIMEOUT = 1800.0

_SUITE = Path(__file__).resolve().parent


class RunError(Exception):
    """The run cannot start as asked (exit 4)."""


@dataclass(frozen=True)
class RunConfig:
    backend: str = "reference"
    device: str = "cpu"
    dtype: str = "declared"
    backend_options: Mapping[str, str] = field(default_factory=dict)
    report_dir: Path | None = None
    no_known_issues: bool = False
    call_timeout: float | None = DEFAULT_CALL_TIMEOUT
    test_timeout: float | None = None

    def to_json(self) -> dict[str, object]:
        from hypothesis import settings

        return {"backend": self.backend, "device": self.device, "backend_options": dict(self.backend_options),
                "dtypes": self.dtype, "profile": settings._current_profile, "call_timeout": self.call_timeout,
                "test_timeout": self.test_timeout, "known_issues": not self.no_known_issues}


def parse_dtypes(text: str) -> list[str] | None:
    """``--dtype``: None for ``declared``, else the list of names, each a known format.

    Example:
        >>> parse_dtypes("float32, bfloat16")
        ['float32', 'bfloat16']
        >>> parse_dtypes("flaot32")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nnspec.conformance.runconfig.RunError: --dtype: 'flaot32' is not a dtype (known: float64, ...)
    """
    text = str(text).strip()
    if text == "declared":
        return None
    names = [name.strip() for name in text.split(",")]
    known = ", ".join(formats.FORMATS)
    if not text or any(not name for name in names):
        raise RunError(f"--dtype: expected comma-separated dtypes ({known}) or 'declared', got {text!r}")
    for name in names:
        if name not in formats.FORMATS:
            raise RunError(f"--dtype: {name!r} is not a dtype (known: {known}, or 'declared')")
    if len(set(names)) != len(names):
        raise RunError(f"--dtype: a dtype is named twice in {text!r}")
    return names


def parse_options(pairs) -> dict[str, str]:
    """``--backend-option KEY=VALUE`` (repeatable) as a dict."""
    options = {}
    for item in pairs or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise RunError(f"--backend-option must be KEY=VALUE, got {item!r}")
        options[key.strip()] = value
    return options


def _seconds(value, option: str) -> float | None:
    if value is None:
        return None
    seconds = float(value)
    if not seconds > 0:
        raise RunError(f"{option}: expected a positive number of seconds (0 to turn it off), got {value!r}")
    return seconds


def from_pytest(config) -> RunConfig:
    """The run as the pytest options describe it (usage errors raise pytest.UsageError: exit 4)."""
    import pytest

    try:
        report = config.getoption("report")
        call = config.getoption("call_timeout")
        test = config.getoption("timeout", None)  # pytest-timeout's per-test limit, when that plugin is present
        return RunConfig(
            backend=config.getoption("backend"), device=config.getoption("device"),
            dtype=str(config.getoption("dtype")), backend_options=parse_options(config.getoption("backend_option")),
            report_dir=Path(report) if report else None, no_known_issues=bool(config.getoption("no_known_issues")),
            call_timeout=None if call == 0 else _seconds(call, "--call-timeout"),
            test_timeout=None if not test else _seconds(test, "--timeout"))
    except (RunError, ValueError) as error:
        raise pytest.UsageError(str(error)) from None


def load(run: RunConfig) -> Backend:
    """Construct and check the backend: any failure to load, to declare or to offer the device is a RunError."""
    where = f"backend {run.backend!r} on {run.device!r}"
    try:
        backend = load_backend(run.backend, run.device, **run.backend_options)
    except Exception as error:  # a constructor may raise anything; the run must not start, and say why
        raise RunError(f"cannot load {where}: {type(error).__name__}: {error}") from None
    try:
        caps = backend.capabilities()
    except Exception as error:
        raise RunError(f"{where}: capabilities() raised {type(error).__name__}: {error}") from None
    if not isinstance(caps, Capabilities):
        raise RunError(f"{where}: capabilities() must return nnspec.adapters.base.Capabilities, got {caps!r}")
    if run.device not in caps.devices:
        raise RunError(f"{where}: the backend does not list device {run.device!r} "
                       f"(Capabilities.devices: {', '.join(caps.devices) or 'none'})")
    unknown = [d for d in caps.dtypes if d not in formats.FORMATS]
    if unknown:
        raise RunError(f"{where}: Capabilities.dtypes names unknown dtypes {unknown}")
    _check_declarations(where, caps)
    if run.no_known_issues:
        backend.known_issues = ()
    return backend


def _check_declarations(where: str, caps: Capabilities) -> None:
    """Every feature is one of the catalogue's, and every optimizer declaration is an ``OptimizerDeclaration``
    that the catalogue's vocabularies accept."""
    unknown = sorted(set(caps.features) - catalogue.features())
    if unknown:
        raise RunError(f"{where}: Capabilities.features names unknown features {unknown} "
                       f"(the catalogue's: {', '.join(sorted(catalogue.features()))})")
    for name, options in caps.options.items():
        unknown = sorted(set(options) - set(catalogue.OPTIONS.get(name, ())))
        if unknown:
            raise RunError(f"{where}: Capabilities.options[{name!r}] names unknown options {unknown} (the "
                           f"catalogue's: {', '.join(catalogue.OPTIONS.get(name, ())) or 'none'})")
    for name, declaration in caps.optimizers.items():
        if not isinstance(declaration, OptimizerDeclaration):
            raise RunError(f"{where}: Capabilities.optimizers[{name!r}] must be an "
                           f"nnspec.adapters.base.OptimizerDeclaration, got {type(declaration).__name__}")
        try:
            declaration.validate(name, tuple(formats.FORMATS))
        except ValueError as error:
            raise RunError(f"{where}: Capabilities.optimizers: {error}") from None


def dtypes(run: RunConfig, caps: Capabilities) -> list[str]:
    """The dtypes to check: every declared one, or those asked for, each of which must be declared."""
    asked = parse_dtypes(run.dtype)
    if asked is None:
        return list(caps.dtypes)
    undeclared = [d for d in asked if d not in caps.dtypes]
    if undeclared:
        raise RunError(f"--dtype {run.dtype}: backend {run.backend!r} does not declare {', '.join(undeclared)} "
                       f"(it declares {', '.join(caps.dtypes)}); nothing would be checked in it")
    return asked


def nameable_in_case(backend: str) -> bool:
    """Whether a case file may name ``backend`` (a built-in or an installed entry point; never module:Class)."""
    from importlib.metadata import entry_points

    from nnspec.adapters import BUILTIN

    return backend in BUILTIN or backend in {ep.name for ep in entry_points(group="nnspec.backends")}


def suite_selected(config) -> bool:
    """Whether this pytest session runs the conformance suite (and not, say, nnspec's own tests)."""
    for arg in config.args:
        name = str(arg).split("::")[0]
        if name == "nnspec.conformance" or name.startswith("nnspec.conformance."):
            return True
        path = Path(name)
        try:
            resolved = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        except OSError:
            continue
        if resolved == _SUITE or _SUITE in resolved.parents:
            return True
    return False


def import_suite() -> None:
    """Import every module of the reference and the suite before the first test.

    Hypothesis draws the literal constants of every local module in ``sys.modules``. Importing them all up front
    fixes that pool for the whole run, so the ``ci`` profile draws the same examples whatever order the tests
    run in, in one process or in several (``--jobs``). The backend's own modules join the pool too (it is loaded
    before this): an author's adapter constants are drawn, on purpose — they are where its special cases live.
    """
    import nnspec.conformance
    import nnspec.reference

    for package in (nnspec.reference, nnspec.conformance):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
