"""Hypothesis profiles for the suite and for nnspec's own tests, registered once, here.

- ``quick``: a smoke run (a handful of examples per test), derandomized like ``ci``: the same examples every run.
- ``ci``: derandomized, so every run of the same nnspec version draws identical examples; no example
  database and no deadline (shared CI machines are noisy, and a deadline would turn slowness into failure).
- ``thorough``: many examples, randomised, for a framework author hunting bugs before a release.

Any of them draws another, reproducible sample with ``nnspec run --seed S``, and skips shrinking with
``--no-shrink`` (:func:`variant`).
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILES", "register", "variant"]

_COMMON = dict(
    deadline=None,
    print_blob=True,
    # The suite's `checker` fixture is per test on purpose: it accumulates the worst error/budget over all of
    # a test's examples.
    # filter_too_much: a backend that lacks a hyperparameter rejects the draws that use it (UnsupportedError);
    # the run counts those itself ("-r rejected"), and a test with no draw left is reported unsupported
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.differing_executors,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)

PROFILES = {
    "quick": dict(max_examples=8, derandomize=True, database=None, **_COMMON),
    "ci": dict(max_examples=25, derandomize=True, database=None, **_COMMON),
    "thorough": dict(max_examples=400, **_COMMON),
}


def register() -> None:
    """Register the profiles with Hypothesis (idempotent)."""
    for name, options in PROFILES.items():
        settings.register_profile(name, **options)


def variant(name: str, *, randomized: bool = False, shrink: bool = True) -> str:
    """Register and return a variant of the profile ``name``: ``-seeded`` draws at random, seeded by
    Hypothesis' ``--hypothesis-seed`` (``nnspec run --seed S``), with no example database: a reproducible other
    sample, for measuring false alarms (docs/false-alarms.md) and for hunting bugs past the fixed examples;
    ``-noshrink`` reports the first failing example of each test as drawn, without shrinking it (``nnspec run
    --no-shrink``: a quick verdict for a backend with many failures, where shrinking takes minutes)."""
    options: dict[str, object] = {}
    if randomized:
        name_out, options = f"{name}-seeded", {"derandomize": False, "database": None}
    else:
        name_out = name
    if not shrink:
        name_out += "-noshrink"
        options["phases"] = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if options:
        settings.register_profile(name_out, parent=settings.get_profile(name), **options)
    return name_out
