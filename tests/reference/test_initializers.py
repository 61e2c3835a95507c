"""Self-tests of reference/initializers.py (docs/spec/initializers.md).

Oracle: conformance/oracles/initializers.py, which writes each law from the frameworks' definitions and
integrates its density in mpmath (the reference uses closed forms); and the reference's own sampler judged by the
conformance room's statistical bounds (a false alarm at most 1e-6 per check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnspec.conformance import initializers as room
from nnspec.conformance.oracles import initializers as oracle
from nnspec.reference import dtypes
from nnspec.reference import initializers as init

SHAPE = (48, 200)
CASES = [("glorot_uniform", {}), ("glorot_normal", {}), ("he_uniform", {"mode": "fan_out"}),
         ("he_normal", {"mode": "fan_avg"}), ("he_normal", {"mode": "fan_in"}), ("lecun_uniform", {}),
         ("lecun_normal", {}), ("truncated_normal", {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 1.5}),
         ("truncated_normal", {"mean": 0.0, "std": 0.1, "a": 0.0, "b": 1.0}),
         ("variance_scaling", {"scale": 3.5, "mode": "fan_avg", "distribution": "uniform"}),
         ("variance_scaling", {"scale": 0.1, "mode": "fan_out", "distribution": "untruncated_normal"})]
NORMALS = init.NORMALS


@pytest.mark.parametrize("normal", NORMALS)
@pytest.mark.parametrize(("initializer", "hyper"), CASES)
def test_law_support_mean_variance_and_cdf_match_the_oracle(initializer, hyper, normal):
    d = init.law(initializer, SHAPE, hyper, normal=normal)
    spec = oracle.law(initializer, SHAPE[0], SHAPE[1], hyper, normal)
    mean, variance = oracle.moments(spec)
    assert (d.lower, d.upper) == pytest.approx((float(spec[1]), float(spec[2])), rel=1e-15)
    assert init.mean(d) == pytest.approx(float(mean), rel=1e-12, abs=1e-15)
    assert init.variance(d) == pytest.approx(float(variance), rel=1e-12)
    for t in room.cdf_points(d)[::7]:
        assert init.cdf(d, float(t)) == pytest.approx(float(oracle.cdf(spec, t)), rel=1e-12, abs=1e-15)


def test_truncation_constant_is_the_standard_deviation_of_the_truncated_standard_normal():
    assert float(oracle.truncation_stddev()) == pytest.approx(init.TRUNCATION_STDDEV, rel=1e-16)


def test_hand_values():
    """glorot_uniform on (2, 4): limit sqrt(6 / 6) = 1; he_uniform fan_in on (6, 3): sqrt(6 / 6) = 1; torch's
    Linear(4, 1): weight and bias bound 1 / sqrt(4) = 1/2; Keras's Dense bias is exactly 0."""
    assert init.law("glorot_uniform", (2, 4)) == init.Law("uniform", -1.0, 1.0)
    assert init.law("he_uniform", (6, 3), {"mode": "fan_in"}).upper == 1.0
    weight, bias = init.dense_default(4, 1, layer="torch_linear")
    assert (weight.upper, bias.upper) == (0.5, 0.5)
    assert init.dense_default(4, 1)[1] == init.Law("constant", 0.0, 0.0)
    assert init.variance(init.law("he_normal", (50, 10), {"mode": "fan_out"}, normal="untruncated_normal")) == \
        pytest.approx(0.2, rel=1e-15)


@pytest.mark.parametrize(("initializer", "hyper"), CASES)
def test_samples_follow_the_law(initializer, hyper):
    """The reference's sampler passes the conformance room's bounds (each fails with probability <= 1e-6)."""
    d = init.law(initializer, SHAPE, hyper)
    w = init.sample(initializer, SHAPE, hyper, np.random.default_rng(7))
    lower, upper, allowance = room.support_interval(d, dtypes.FLOAT64)
    assert lower - allowance <= w.min() and w.max() <= upper + allowance
    assert abs(w.mean() - init.mean(d)) <= room.mean_budget(d, w, dtypes.FLOAT64)
    assert abs(np.mean((w - init.mean(d)) ** 2) - init.variance(d)) <= room.variance_budget(d, w, dtypes.FLOAT64)
    points = room.cdf_points(d)
    empirical = np.searchsorted(np.sort(w.ravel()), points, side="right") / w.size
    assert np.all(np.abs(empirical - [init.cdf(d, float(t)) for t in points])
                  <= room.cdf_budget(d, w.size, points, dtypes.FLOAT64))


def test_same_seed_same_weights_and_dtype():
    first = init.sample("lecun_normal", SHAPE, {}, np.random.default_rng(3), np.float32)
    second = init.sample("lecun_normal", SHAPE, {}, np.random.default_rng(3), np.float32)
    assert first.dtype == np.float32 and first.shape == SHAPE
    np.testing.assert_array_equal(first, second)


def test_median_of_an_asymmetric_truncated_normal():
    d = init.law("truncated_normal", (1, 1), {"mean": 0.0, "std": 1.0, "a": 0.0, "b": 1.0})
    assert init.cdf(d, room.median(d)) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(("call", "error", "fragment"), [
    (lambda: init.law("xavier", (2, 2)), ValueError, "initializer"),
    (lambda: init.law("he_normal", (2, 2), {"mode": "fan_geo"}), ValueError, "mode"),
    (lambda: init.law("glorot_uniform", (2, 2), {"gain": 2.0}), ValueError, "gain"),
    (lambda: init.law("glorot_uniform", (2, 2, 3)), TypeError, "shape"),
    (lambda: init.law("glorot_uniform", (0, 2)), TypeError, "shape"),
    (lambda: init.law("truncated_normal", (2, 2), {"std": 0.0}), ValueError, "std"),
    (lambda: init.law("truncated_normal", (2, 2), {"a": 1.0, "b": 0.0}), ValueError, "a <= mean <= b"),
    (lambda: init.law("variance_scaling", (2, 2), {"scale": -1.0}), ValueError, "scale"),
    (lambda: init.law("glorot_normal", (2, 2), normal="gaussian"), ValueError, "normal"),
    (lambda: init.sample("glorot_uniform", (2, 2), {}, 0), TypeError, "rng"),
    (lambda: init.sample("glorot_uniform", (2, 2), {}, np.random.default_rng(0), np.int32), TypeError, "dtype"),
    (lambda: init.dense_default(2, 2, layer="flax"), ValueError, "layer"),
])
def test_bad_arguments_are_named(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_fan_below_one_counts_as_one():
    assert init.law("lecun_uniform", (1, 1)).upper == pytest.approx(math.sqrt(3.0), rel=1e-15)
