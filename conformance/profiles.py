"""Hypothesis profiles for the suite and for nnspec's own tests, registered once, here.

- ``quick``: a smoke run (a handful of examples per test), randomised.
- ``ci``: derandomized, so every run of the same nnspec version draws identical examples; no example
  database and no deadline (shared CI machines are noisy, and a deadline would turn slowness into failure).
- ``thorough``: many examples, randomised, for a framework author hunting bugs before a release.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["PROFILES", "register"]

_COMMON = dict(
    deadline=None,
    print_blob=True,
    # The suite's `checker` fixture is per test on purpose: it accumulates the worst error/budget over all of
    # a test's examples.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.differing_executors,
                           HealthCheck.function_scoped_fixture],
)

PROFILES = {
    "quick": dict(max_examples=8, **_COMMON),
    "ci": dict(max_examples=25, derandomize=True, database=None, **_COMMON),
    "thorough": dict(max_examples=400, **_COMMON),
}


def register() -> None:
    """Register the profiles with Hypothesis (idempotent)."""
    for name, options in PROFILES.items():
        settings.register_profile(name, **options)
