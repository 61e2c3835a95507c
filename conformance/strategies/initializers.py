"""Inputs of the initializer checks: (in, out) weight shapes large enough for the statistics, and each
initializer's hyperparameters."""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from nnspec.reference import initializers as init

__all__ = ["WEIGHT_SHAPES", "weight_shapes", "layer_shapes", "initializer_hypers"]

#: The (fan_in, fan_out) shapes drawn: 30000 and 8192 weights, so the DKW band is 0.016 and 0.030 wide, far
#: narrower than what a wrong fan does to the CDF (a variance off by a factor 3 moves it by about 0.13). The fans
#: differ by a factor 3 and 8 (an initializer that takes one fan for the other is seen), one shape is not a power
#: of two, and they are only two: JAX compiles its random ops once per shape and dtype (1 to 2 s each).
WEIGHT_SHAPES = ((100, 300), (256, 32))


@functools.cache
def weight_shapes() -> st.SearchStrategy[tuple[int, int]]:
    """One of ``WEIGHT_SHAPES`` (the first is the one Hypothesis shrinks towards)."""
    return st.sampled_from(WEIGHT_SHAPES)


@functools.cache
def layer_shapes() -> st.SearchStrategy[tuple[int, int]]:
    """(fan_in, fan_out) of a dense layer: fan_out 64 to 256 (the bias has fan_out values), fan_in 16 to 256."""
    return st.tuples(st.integers(min_value=16, max_value=256), st.integers(min_value=64, max_value=256))


@functools.cache
def _truncated_normal_hypers() -> st.SearchStrategy[dict]:
    """mean, std, a, b: the +-2 std window of Keras's TruncatedNormal (mean 0 or not), zero-mean bounds in units of
    std as JAX's truncated_normal takes them, and any window a <= mean <= b as torch's trunc_normal_ takes it (all
    dyadic, so a and b are exact)."""
    means, stds = st.sampled_from([0.0, 0.5, -1.0]), st.sampled_from([0.0625, 0.5, 1.0, 2.0])
    two_std = st.builds(lambda m, s: {"mean": m, "std": s, "a": m - 2 * s, "b": m + 2 * s}, means, stds)
    multiples = st.sampled_from([0.5, 1.0, 2.0, 3.0])
    zero_mean = st.builds(lambda s, k, j: {"mean": 0.0, "std": s, "a": -k * s, "b": j * s}, stds, multiples, multiples)
    window = st.builds(lambda m, s, k, j: {"mean": m, "std": s, "a": m - k, "b": m + j}, means, stds,
                       st.sampled_from([0.0, 0.25, 1.0]), st.sampled_from([0.5, 1.0, 4.0]))
    # the +-2 std window twice: the one window every framework has (Keras has no other)
    return st.one_of(two_std, zero_mean, two_std, window)


@functools.cache
def initializer_hypers(initializer: str) -> st.SearchStrategy[dict]:
    """The hyperparameters of ``initializer`` (reference/initializers.py): the fan mode of He, the four numbers of
    a truncated normal, and scale, mode and distribution of variance scaling; nothing for the others."""
    modes = st.sampled_from(init.FAN_MODES)
    if initializer in ("he_uniform", "he_normal"):
        return st.builds(lambda mode: {"mode": mode}, modes)
    if initializer == "truncated_normal":
        return _truncated_normal_hypers()
    if initializer == "variance_scaling":
        return st.builds(lambda scale, mode, dist: {"scale": scale, "mode": mode, "distribution": dist},
                         st.sampled_from([0.1, 1.0 / 3.0, 1.0, 2.0, 3.5]), modes, st.sampled_from(init.DISTRIBUTIONS))
    return st.just({})
