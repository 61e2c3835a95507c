"""erf and erfc over arrays: the special functions of GELU, evaluated fast where a well-kept library is installed.

The definition is the mathematical function; this module only chooses how numpy arrays are evaluated.
``math.erf``/``math.erfc`` (one Python call per entry, ~0.17 s per million entries) are the readable evaluation
and the fallback; ``scipy.special`` (installed with the jax and tensorflow extras, pinned in ci/requirements.txt)
evaluates a million entries in ~0.02 s, which makes GELU's float32 sweeps 3-7 times faster
(docs/benchmarks.md#exhaustive-sweeps). Measured against mpmath (tests/reference/test_special.py), math's erf
and erfc are within 3 ulps of float64 everywhere, SciPy's erf within 2, but SciPy's erfc only for x <= 0.5: above
it loses up to 500 ulps (2^-44 relative near x = 24) and it flushes the subnormal tail (x > 26.55) to 0. So erfc
takes SciPy's value for x <= 0.5, math's for 0.5 < x < 27.3 and 0 beyond (erfc(27.3) ~ 2e-325 rounds to 0);
GELU's float32 sweep reaches the math path for about 1 % of its inputs (x in (-38.6, -0.71)).
"""

from __future__ import annotations

import math

import numpy as np

try:
    from scipy import special as _scipy_special
except ImportError:  # optional: the fallback below is as exact (3 ulps), only slower
    _scipy_special = None

__all__ = ["erf", "erfc", "VECTORISED"]

_math_erf = np.vectorize(math.erf, otypes=[np.float64])
_math_erfc = np.vectorize(math.erfc, otypes=[np.float64])
#: Where SciPy's erfc is within 3 ulps (at and below), and where erfc rounds to 0 in float64 (above).
SCIPY_ERFC_UP_TO = 0.5
ZERO_ABOVE = 27.3

#: Whether scipy.special evaluates erf and erfc here (False: math's, entry by entry).
VECTORISED = _scipy_special is not None


def erf(x: np.ndarray) -> np.ndarray:
    """erf of each entry of a float64 array (NaN stays NaN, erf(±inf) = ±1)."""
    x = np.asarray(x, dtype=np.float64)
    if _scipy_special is None:
        return _math_erf(x)
    return _scipy_special.erf(x)


def erfc(x: np.ndarray) -> np.ndarray:
    """erfc of each entry of a float64 array, subnormal results included (NaN stays NaN, erfc(inf) = 0)."""
    x = np.asarray(x, dtype=np.float64)
    if _scipy_special is None:
        return _math_erfc(x)
    y = np.asarray(_scipy_special.erfc(x))  # a new array; already 0 above ZERO_ABOVE, where erfc rounds to 0
    middle = (x > SCIPY_ERFC_UP_TO) & (x <= ZERO_ABOVE)
    if np.any(middle):
        y[middle] = _math_erfc(x[middle])
    return y
