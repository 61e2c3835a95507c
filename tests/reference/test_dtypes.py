"""reference/dtypes.py: the formats and their exact rounding, ``Format.round`` and ``round_to`` (the same rounding
by the format's name). Expected values are worked out by hand from the IEEE layouts (p significand bits,
round to nearest, ties to even), not taken from the code."""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.reference import dtypes

# (format, value, its nearest value in the format): ties go to the even significand; beyond max + ulp(max)/2, inf
CASES = [
    ("float32", 1.0 + 2.0**-24, 1.0),  # half an ulp above 1: tie, 1.0 is even
    ("float32", 1.0 + 3 * 2.0**-24, 1.0 + 2.0**-22),  # tie between 1 + 2**-23 (odd) and 1 + 2**-22 (even)
    ("float16", 2049.0, 2048.0),  # ulp 2 from 2048: tie, 2048 is even
    ("float16", 2051.0, 2052.0),  # tie between 2050 (odd) and 2052 (even)
    ("float16", 65519.0, 65504.0),  # below max + ulp/2 = 65520: rounds to max
    ("float16", 65520.0, np.inf),  # at the tie with 2**16: even, i.e. overflow
    ("bfloat16", 1.0 + 2.0**-8, 1.0),  # 8 significant bits: ulp 2**-7 at 1, a tie, 1.0 is even
    ("bfloat16", 1.0 + 3 * 2.0**-8, 1.0 + 2.0**-6),  # tie between 1 + 2**-7 (odd) and 1 + 2**-6 (even)
    ("bfloat16", 1.0 + 2.0**-8 + 2.0**-30, 1.0 + 2.0**-7),  # just above the tie: up (no double rounding)
    ("bfloat16", -3.4e38, -np.inf),  # beyond the overflow threshold (2 - 2**-8) * 2**127 = 3.3961e38
]


@pytest.mark.parametrize(("name", "value", "expected"), CASES)
def test_round_is_round_to_nearest_even(name, value, expected):
    fmt = dtypes.FORMATS[name]
    assert float(fmt.round(np.array(value))[()]) == expected
    assert float(dtypes.round_to(np.array(value), name)[()]) == expected


@pytest.mark.parametrize("name", ["float64", "float32", "float16", "bfloat16"])
def test_round_keeps_shape_and_is_idempotent(name):
    fmt = dtypes.FORMATS[name]
    x = np.random.default_rng(3).standard_normal((3, 4)) * 100
    once = fmt.round(x)
    assert once.shape == x.shape and once.dtype == np.float64
    assert np.array_equal(fmt.round(once), once)


def test_float64_is_the_float64_format():
    assert dtypes.FLOAT64 is dtypes.FORMATS["float64"] and dtypes.FLOAT64.unit_roundoff == 2.0**-53


def test_round_rejects_what_is_not_an_array_of_real_numbers():
    with pytest.raises(TypeError, match="dtypes.round: x must be an array of real numbers"):
        dtypes.FORMATS["float32"].round(np.array(["a"]))
