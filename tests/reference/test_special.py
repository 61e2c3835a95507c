"""reference/_special.py: erf and erfc over arrays, checked against mpmath at 60 digits.

Both evaluations are checked: SciPy's (when installed) and math's entry-by-entry fallback, so the reference's GELU
does not depend on which one an installation has, beyond 3 ulps of float64.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from nnspec.reference import _special

_ULPS = 3  # math.erfc's worst, measured (x ~ 1.22)


def _points() -> np.ndarray:
    """Both signs of every scale from the smallest subnormal to 1e300, a dense grid over [-30, 30] (where erfc
    goes from 2 to the subnormal tail and then 0), and the special values."""
    tiny = np.logspace(-323, 300, 1500)
    grid = np.linspace(-30.0, 30.0, 6001)
    tail = np.linspace(26.0, 27.3, 400)  # erfc's subnormal results, which SciPy flushes
    return np.concatenate([tiny, -tiny, grid, tail, [0.0, -0.0, 5e-324, -5e-324, np.inf, -np.inf]])


def _exact(function, x: np.ndarray) -> np.ndarray:
    """mpmath's value rounded to float64; beyond |x| = 30 (mpmath's erfc overflows near 1e154) the float64 values
    are the limits: erf = ±1, erfc = 0 or 2 (erfc(30) ~ 2.6e-393, below the smallest subnormal)."""
    with mpmath.workdps(60):
        return np.array([float(function(mpmath.mpf(float(v)))) if abs(v) <= 30
                         else float(function(mpmath.mpf(30.0 if v > 0 else -30.0))) for v in x])


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.where(got == exact, 0.0, np.abs(got - exact) / np.spacing(np.abs(exact)))


_EVALUATIONS = {
    "math": (_special._math_erf, _special._math_erfc),
    "module": (_special.erf, _special.erfc),
}


@pytest.mark.parametrize("evaluation", sorted(_EVALUATIONS))
def test_erf_and_erfc_within_two_ulps_of_mpmath(evaluation: str) -> None:
    erf, erfc = _EVALUATIONS[evaluation]
    x = _points()
    for name, got, exact in (("erf", erf(x), _exact(mpmath.erf, x)), ("erfc", erfc(x), _exact(mpmath.erfc, x))):
        worst = int(np.argmax(_ulps(got, exact)))
        assert _ulps(got, exact)[worst] <= _ULPS, (
            f"{evaluation} {name}({x[worst]!r}) = {got[worst]!r}, mpmath says {exact[worst]!r}")


def test_erfc_keeps_the_subnormal_tail() -> None:
    """erfc(27) = 5.237e-319 (mpmath), a subnormal that SciPy's erfc returns as 0."""
    assert _special.erfc(np.array([27.0]))[0] == pytest.approx(float(mpmath.erfc(27)), abs=5e-324)
    assert _special.erfc(np.array([27.0]))[0] > 0


def test_erfc_rounds_to_zero_above_the_cutoff() -> None:
    with mpmath.workdps(60):
        assert float(mpmath.erfc(_special.ZERO_ABOVE)) == 0.0
        assert float(mpmath.erfc(np.nextafter(_special.ZERO_ABOVE, 0.0))) == 0.0


def test_nan_propagates() -> None:
    assert np.isnan(_special.erf(np.array([np.nan]))[0])
    assert np.isnan(_special.erfc(np.array([np.nan]))[0])


def test_vectorised_when_scipy_is_installed() -> None:
    """The sweep's speed rests on SciPy; say plainly when it is missing instead of running slow unnoticed."""
    try:
        import scipy.special  # noqa: F401
    except ImportError:
        assert not _special.VECTORISED
    else:
        assert _special.VECTORISED
    assert math.isclose(float(_special.erf(np.array(1.0))), math.erf(1.0), rel_tol=0, abs_tol=2.3e-16)
