"""A pytest plugin for ci/profile_families.py: the CPU time (user + sys) of each test's call, written as JSON to
the file named by $NNSPEC_CPU_PER_TEST at the end of the session. CPU time, not wall time: a figure that other
work on the machine does not inflate."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

_CPU: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = time.process_time()
    yield
    _CPU[item.nodeid] = time.process_time() - start


def pytest_sessionfinish(session):
    Path(os.environ["NNSPEC_CPU_PER_TEST"]).write_text(json.dumps(_CPU))
