"""The floating-point formats the suite knows, and exact rounding of float64 values into them.

Inputs are drawn in float64 and rounded here, once, to the dtype under test, so that the backend and the
float64 reference see exactly the same numbers. bfloat16 is rounded by bit manipulation (round to nearest,
ties to even), so no extra package is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["Format", "FORMATS", "FLOAT64", "get", "round_to"]


@dataclass(frozen=True)
class Format:
    """An IEEE-style binary format: ``precision`` significand bits (implicit bit included).

    The dtype at the seams (docs/architecture.md#the-dtype-at-the-seams): inside nnspec a dtype travels as its
    ``Format``, resolved once from its name (the conformance ``Checker``'s ``fmt``, or where a case file's name is
    read); at the backend protocol (``nnspec.adapters.base.Backend``, known-issue rules) and in case files and
    reports it stays the name, ``Format.name``, so that external adapters keep their ``dtype: str``.
    """

    name: str
    precision: int
    max_exponent: int  # largest finite = (2 - 2**(1 - precision)) * 2**max_exponent
    min_exponent: int  # smallest normal = 2**min_exponent

    @property
    def unit_roundoff(self) -> float:
        """u = 2**-p: the largest relative error of one correctly rounded operation."""
        return 2.0 ** -self.precision

    @property
    def tiny(self) -> float:
        """The smallest positive normal number; below it the relative error guarantee is lost."""
        return 2.0 ** self.min_exponent

    @property
    def max(self) -> float:
        """The largest finite number."""
        return (2.0 - 2.0 ** (1 - self.precision)) * 2.0 ** self.max_exponent

    @property
    def overflow(self) -> float:
        """The smallest magnitude that rounds to infinity (round to nearest, ties to even): max plus half an ulp
        of max (65520 for float16)."""
        return self.max + 2.0 ** (self.max_exponent - self.precision)

    def round(self, x: np.ndarray) -> np.ndarray:
        """Round float64 values to the nearest value of this format (ties to even), returned as float64; beyond
        the largest finite value they become +-inf (``round_to`` is the same with the format's name).

        Spec: docs/spec/error-budgets.md#method

        Raises:
            TypeError: if ``x`` is not an array of real numbers.

        Example:
            >>> half = FORMATS["float16"]
            >>> float(half.round(np.array(65519.0))[()]), float(half.round(np.array(65520.0))[()])
            (65504.0, inf)
        """
        x = check.array("dtypes.round", "x", x)
        if x.dtype.kind not in "fiu":
            raise TypeError(f"dtypes.round: x must be an array of real numbers, got {x.dtype}")
        x = x.astype(np.float64, copy=False)
        if self.name == "bfloat16":
            return _round_bfloat16(x).reshape(x.shape)
        with np.errstate(over="ignore"):
            return x.astype(np.dtype(self.name)).astype(np.float64)


FORMATS = {
    "float64": Format("float64", 53, 1023, -1022),
    "float32": Format("float32", 24, 127, -126),
    "float16": Format("float16", 11, 15, -14),
    "bfloat16": Format("bfloat16", 8, 127, -126),
}
#: The reference's own format: every float64 term of a bound reads it from here.
FLOAT64 = FORMATS["float64"]


def get(name: str) -> Format:
    """Return the format called ``name``.

    Spec: docs/spec/error-budgets.md#method

    Raises:
        ValueError: if ``name`` is not one of ``FORMATS``.

    Example:
        >>> get("float32").unit_roundoff == 2.0 ** -24
        True
    """
    return FORMATS[check.choice("dtypes.get", "name", name, tuple(FORMATS))]


def _round_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round float64 to bfloat16 (8 significant bits) directly, ties to even: through float32 first would
    round twice. Values beyond bfloat16's range become +-inf; subnormal bfloat16 values are not produced (the
    suite keeps its inputs normal)."""
    x = np.array(x, dtype=np.float64, ndmin=1)
    bits = x.view(np.uint64)
    drop = np.uint64(52 - 7)  # float64 keeps 52 fraction bits, bfloat16 keeps 7
    lsb = (bits >> drop) & np.uint64(1)
    rounded = ((bits + (np.uint64(1) << (drop - np.uint64(1))) - np.uint64(1) + lsb)
               >> drop << drop).view(np.float64)
    rounded = np.where(np.isfinite(x), rounded, x)
    return np.where(np.abs(rounded) > FORMATS["bfloat16"].max, np.copysign(np.inf, x), rounded)


def round_to(x: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 values to the nearest value of ``dtype``, returned as float64.

    Spec: docs/spec/error-budgets.md#method

    Raises:
        TypeError: if ``x`` is not an array of real numbers. ValueError: if ``dtype`` is not one of ``FORMATS``.

    Example:
        >>> float(round_to(np.array(0.1), "float32")[()]) == float(np.float32(0.1))
        True
        >>> float(round_to(np.array(1.0 + 2.0 ** -9), "bfloat16")[()])
        1.0
    """
    fmt = FORMATS[check.choice("dtypes.round_to", "dtype", dtype, tuple(FORMATS))]
    x = check.array("dtypes.round_to", "x", x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"dtypes.round_to: x must be an array of real numbers, got {x.dtype}")
    return fmt.round(x)
