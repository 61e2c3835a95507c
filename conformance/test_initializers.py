"""Weight initializers, through the backend's own random number generator: weights differ by framework, so the
tests check the law, not the bits. Per example, each statistical test (mean, variance, CDF, independent seeds) is
one check failing a correct backend with probability at most errormodel.FALSE_ALARM_PER_CHECK; the support and
same-seed tests are exact (docs/spec/initializers.md#checks).

Spec: docs/spec/initializers.md
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnspec.adapters.base import UnsupportedError
from nnspec.conformance import initializer_checks
from nnspec.conformance.strategies.initializers import (
    WEIGHT_SHAPES,
    initializer_hypers,
    layer_shapes,
    weight_shapes,
)
from nnspec.conformance.strategies.training import seeds
from nnspec.reference import initializers as init

SPEC = "docs/spec/initializers.md"
#: An eighth of the profile's examples (3 at ci): each draws 8192 or 30000 weights, and a wrong law fails at once
#: (the planted bugs at error/budget 8 to 15 on their first example).
_FEW = settings(max_examples=max(2, settings.default.max_examples // 8))
#: (backend, device, initializer, dtype) -> why the backend has no such initializer ("" if it has)
_UNSUPPORTED: dict[tuple[str, str, str, str], str] = {}


def _require(checker, initializer: str, prop: str) -> None:
    """Skip unless the backend declares ``initializers`` and has this initializer: one draw with the reference's
    default hyperparameters, once per backend, initializer and dtype, on the first shape the tests draw (so JAX
    compiles nothing extra), answers UnsupportedError otherwise."""
    checker.require(initializer, prop, feature="initializers")
    key = (checker.backend.name, checker.backend.device, initializer, checker.dtype)
    if key not in _UNSUPPORTED:
        try:
            checker.backend.initialize(initializer, WEIGHT_SHAPES[0], {}, 0, checker.dtype)
            _UNSUPPORTED[key] = ""
        except UnsupportedError as error:
            _UNSUPPORTED[key] = str(error)
    if _UNSUPPORTED[key]:
        pytest.skip(f"unsupported: {_UNSUPPORTED[key]}")


def _check(checker, statistic: str, initializer: str, data, anchor: str) -> None:
    hyper = data.draw(initializer_hypers(initializer), label="hyper")
    shape, seed = data.draw(weight_shapes(), label="shape"), data.draw(seeds(), label="seed")
    try:
        comparisons = initializer_checks.statistic(checker.backend, statistic, initializer, hyper, shape, seed,
                                                   checker.fmt)
    except UnsupportedError:
        assume(False)  # a hyperparameter variant the framework does not have (torch's He has no fan_avg)
    checker.expect(comparisons, {"kind": f"initializer_{statistic}", "primitive": initializer, "arrays": {},
                                 "params": {"initializer": initializer, "hyper": hyper, "shape": list(shape),
                                            "seed": seed}, "spec": f"{SPEC}#{anchor}"})


def _default(checker, statistic: str, data, anchor: str = "dense-default") -> None:
    (fan_in, fan_out), seed = data.draw(layer_shapes(), label="shape"), data.draw(seeds(), label="seed")
    comparisons = initializer_checks.default_statistic(checker.backend, statistic, fan_in, fan_out, seed, checker.fmt)
    layer = initializer_checks.layer_convention(checker.backend)
    checker.expect(comparisons, {"kind": f"initializer_default_{statistic}", "primitive": "dense_default_init",
                                 "arrays": {}, "params": {"fan_in": fan_in, "fan_out": fan_out, "seed": seed,
                                                          "layer": layer}, "spec": f"{SPEC}#{anchor}"})


_INITIALIZERS = pytest.mark.parametrize("initializer", init.INITIALIZERS)


@_INITIALIZERS
@_FEW
@given(data=st.data())
def test_initializer_weights_lie_in_the_support(checker, initializer, data):
    """Every weight within the law's support (up to the bound's own rounding), in the (in, out) shape."""
    _require(checker, initializer, "support and shape")
    _check(checker, "support", initializer, data, "checks")


@_INITIALIZERS
@_FEW
@given(data=st.data())
def test_initializer_mean_matches_the_law(checker, initializer, data):
    _require(checker, initializer, "mean")
    _check(checker, "mean", initializer, data, "checks")


@_INITIALIZERS
@_FEW
@given(data=st.data())
def test_initializer_variance_matches_the_law(checker, initializer, data):
    """The fan (fan_in, fan_out, their average) and the scale show here first: a variance off by their ratio."""
    _require(checker, initializer, "variance")
    _check(checker, "variance", initializer, data, "checks")


@_INITIALIZERS
@_FEW
@given(data=st.data())
def test_initializer_cdf_matches_the_law(checker, initializer, data):
    """The empirical CDF within the DKW band of the law's: the shape of the law (uniform, normal, truncated)."""
    _require(checker, initializer, "cdf")
    _check(checker, "cdf", initializer, data, "checks")


@_INITIALIZERS
@_FEW
@given(data=st.data())
def test_initializer_seeds_give_independent_draws(checker, initializer, data):
    _require(checker, initializer, "independent seeds")
    _check(checker, "independent_seeds", initializer, data, "seeds")


@_INITIALIZERS
@_FEW
@given(data=st.data())
def test_initializer_same_seed_gives_the_same_weights(checker, initializer, data):
    _require(checker, initializer, "same seed, same weights")
    _check(checker, "same_seed", initializer, data, "seeds")


# --- the default of a freshly built dense layer (torch nn.Linear, keras.layers.Dense) ---------------------------


@_FEW
@given(data=st.data())
def test_dense_default_init_lies_in_the_support(checker, data):
    """Weight and bias within their laws' supports: torch's bias in +-1/sqrt(fan_in), Keras's bias exactly 0."""
    checker.require("dense_default_init", "support", feature="dense_default_init")
    _default(checker, "support", data)


@_FEW
@given(data=st.data())
def test_dense_default_init_moments_match_the_law(checker, data):
    checker.require("dense_default_init", "mean and variance", feature="dense_default_init")
    _default(checker, "moments", data)


@_FEW
@given(data=st.data())
def test_dense_default_init_cdf_matches_the_law(checker, data):
    checker.require("dense_default_init", "cdf", feature="dense_default_init")
    _default(checker, "cdf", data)
