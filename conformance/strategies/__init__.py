"""Hypothesis strategies: every input the suite and nnspec's own tests draw comes from here.

Split by domain: ``arrays`` (dtype-exact float arrays), ``activations``, ``losses``, ``layers``. Each strategy
returns float64 numpy arrays whose values are exactly representable in the dtype under test, so a backend and
the float64 reference see the same numbers.

Every strategy factory is cached (``functools.cache``, or ``lru_cache`` where the arguments vary per draw, as a
shape does): one strategy object per arguments. Hypothesis validates a strategy object at its first draw, and a
factory called inside a test or a composite would build and validate a new one at every example (4-100 µs
each; together 6 % of a `ci` example's time before they were cached, docs/benchmarks.md#per-example-cost).
tests/conformance/test_strategies.py checks that every factory here and in the rooms is cached.
"""
