"""The pytest plugin behind the conformance suite (registered through the ``pytest11`` entry point).

It adds the suite's options (``--backend``, ``--device``, ``--dtype``, ``--backend-option``, ``--report``),
parametrizes tests by dtype, gives each test a :class:`~nnspec.conformance.session.Checker`, and at the end
prints the summary table and writes the JSON report. In a pytest session that collects no conformance test
it does nothing beyond registering options and Hypothesis profiles.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from nnspec.conformance import profiles, runconfig
from nnspec.conformance.session import Checker, Session

profiles.register()

_SUITE_DIR = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nnspec", "nnspec conformance suite")
    group.addoption("--backend", default="reference",
                    help="backend: reference, torch, a 'module:Class', or an nnspec.backends entry point")
    group.addoption("--device", default="cpu", help="device the backend runs on (cpu, cuda, mps, gpu, ...)")
    group.addoption("--dtype", default="declared",
                    help="comma-separated dtypes to check, or 'declared' (default): every dtype the backend declares")
    group.addoption("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                    help="an option passed to the backend's constructor (repeatable)")
    group.addoption("--report", default=None, metavar="DIR", help="write report.json (and failing cases) here")
    group.addoption("--no-known-issues", action="store_true",
                    help="do not excuse the backend's documented known issues (to see whether they persist)")
    group.addoption("--nnspec-randomize", action="store_true",
                    help="draw the profile's examples at random (seeded by --hypothesis-seed) instead of the "
                         "derandomized ones: `nnspec run --seed S`")
    group.addoption("--nnspec-no-shrink", action="store_true",
                    help="report each test's first failing example as drawn, without shrinking "
                         "(`nnspec run --no-shrink`)")
    group.addoption("--call-timeout", type=float, default=runconfig.DEFAULT_CALL_TIMEOUT, metavar="SECONDS",
                    help="wall-clock limit of one backend call (outcome 'timeout'; 0: none; default %(default)s)")


@pytest.hookimpl(trylast=True)  # after Hypothesis' own plugin has loaded --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings

    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile("ci")
    randomize, shrink = config.getoption("nnspec_randomize"), not config.getoption("nnspec_no_shrink")
    if randomize or not shrink:
        settings.load_profile(profiles.variant(settings._current_profile, randomized=randomize, shrink=shrink))
    config.pluginmanager.register(Session(config), "nnspec-session")


class _CanonicalModule(pytest.Module):
    """Import suite modules as ``nnspec.conformance.<name>`` even from an editable checkout, where pytest
    would otherwise name them ``conformance.<name>`` and import the suite's package twice."""

    def _getobj(self):
        return importlib.import_module(f"nnspec.conformance.{self.path.stem}")


def pytest_pycollect_makemodule(module_path: Path, parent):
    if module_path.parent.resolve() == _SUITE_DIR and module_path.name.startswith("test_"):
        return _CanonicalModule.from_parent(parent, path=module_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dtype" in metafunc.fixturenames and metafunc.module.__name__.startswith("nnspec.conformance."):
        session: Session = metafunc.config.pluginmanager.get_plugin("nnspec-session")
        metafunc.parametrize("dtype", session.dtypes())


@pytest.fixture
def checker(request: pytest.FixtureRequest, dtype: str) -> Checker:
    """The per-test gateway to the backend: checks, unsupported-skips and recording."""
    session: Session = request.config.pluginmanager.get_plugin("nnspec-session")
    return session.checker(request.node, dtype)
