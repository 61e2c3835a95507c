"""Input checks shared by every public function of the reference.

Each helper raises ``TypeError`` or ``ValueError`` whose message names the calling function, the argument,
what was expected and what came, e.g. ``relu.forward: x must be a real floating-point array, got int64``.

NaN and inf policy (docs/spec/conventions.md#nan-and-inf): the reference never rejects NaN or inf values;
they propagate through each formula as IEEE 754 arithmetic says, except where a spec section pins another
value (for example the cross-entropy of an infinite logit).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "float_array",
    "same_shape",
    "check_shape",
    "real_number",
    "choice",
    "result_dtype",
    "axis_index",
    "float_dtype",
    "sequence",
    "shape",
    "bool_array",
    "array",
    "mapping",
]


def _dtype_name(value: object) -> str:
    dtype = getattr(value, "dtype", None)
    return str(dtype) if dtype is not None else type(value).__name__


def float_array(function: str, name: str, value: object, *, min_ndim: int = 0, allow_empty: bool = True) -> np.ndarray:
    """Return ``value`` as a real floating-point numpy array, without copying or mutating it.

    Python floats and scalars become 0-d float64 arrays. Integer, boolean, complex and object inputs are
    rejected: silently promoting them would hide a caller's bug.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{function}: {name} must be a real floating-point array, got bool")
    if isinstance(value, float):
        value = np.float64(value)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nesting, or an object numpy cannot read as an array
        raise TypeError(f"{function}: {name} must be a real floating-point array, got {type(value).__name__}") from None
    if array.dtype.kind != "f":
        raise TypeError(f"{function}: {name} must be a real floating-point array, got {_dtype_name(array)}")
    if array.ndim < min_ndim:
        raise ValueError(f"{function}: {name} must have at least {min_ndim} dimension(s), got shape {array.shape}")
    if not allow_empty and array.size == 0:
        raise ValueError(f"{function}: {name} must not be empty, got shape {array.shape}")
    return array


def same_shape(function: str, name: str, value: np.ndarray, other_name: str, other: np.ndarray) -> None:
    """Raise unless two arrays have exactly the same shape (no broadcasting is implied by the spec)."""
    if value.shape != other.shape:
        raise ValueError(
            f"{function}: {name} must have the same shape as {other_name} {other.shape}, got {value.shape}"
        )


def check_shape(function: str, name: str, value: np.ndarray, expected: Sequence[int | None]) -> None:
    """Raise unless ``value.shape`` matches ``expected``, where ``None`` matches any length."""
    ok = value.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, value.shape))
    if not ok:
        wanted = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{function}: {name} must have shape {wanted}, got {value.shape}")


def real_number(
    function: str,
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a Python float after checking that it is a finite real number in the range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: {name} must be a real number, got {type(value).__name__}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{function}: {name} must be finite, got {number}")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{function}: {name} must be in {interval}, got {number}")
    return number


def choice(function: str, name: str, value: object, options: Sequence[str]) -> str:
    """Return ``value`` after checking that it is one of ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{function}: {name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype a result is returned in: the widest of the inputs' dtypes."""
    return np.result_type(*arrays)


def axis_index(function: str, name: str, axis: object, ndim: int) -> int:
    """Return ``axis`` normalised to ``0 <= axis < ndim``."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{function}: {name} must be an int, got {type(axis).__name__}")
    if not -ndim <= int(axis) < ndim:
        raise ValueError(f"{function}: {name} must be in [{-ndim}, {ndim - 1}] for a {ndim}-d array, got {axis}")
    return int(axis) % ndim


def float_dtype(function: str, name: str, value: object) -> np.dtype:
    """Return ``value`` as a numpy dtype after checking that it names a real floating-point type: an integer,
    bool or complex dtype would silently truncate (``1 / 0.7`` becomes 1) or widen a result."""
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: {name} must be a real floating-point dtype, got {value!r}") from None
    if value is None or dtype.kind != "f":
        raise TypeError(f"{function}: {name} must be a real floating-point dtype, got {value!r}")
    return dtype


def sequence(function: str, name: str, value: object) -> list:
    """Return ``value`` as a list after checking that it is a list or tuple (not a string, array or scalar)."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{function}: {name} must be a list or tuple, got {type(value).__name__}")
    return list(value)


def shape(function: str, name: str, value: object) -> tuple[int, ...]:
    """Return ``value`` as an array shape: a non-negative int, or a tuple or list of them."""
    sides = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) else value
    if not isinstance(sides, (tuple, list)) or not all(
            isinstance(side, numbers.Integral) and not isinstance(side, (bool, np.bool_)) and side >= 0
            for side in sides):
        raise TypeError(f"{function}: {name} must be a shape (a tuple of ints >= 0), got {value!r}")
    return tuple(int(side) for side in sides)


def bool_array(function: str, name: str, value: object) -> np.ndarray:
    """Return ``value`` as a numpy bool array (a mask); any other dtype is a ``TypeError``."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise TypeError(f"{function}: {name} must be a bool array (True = kept), got {type(value).__name__}") from None
    if array.dtype != np.bool_:
        raise TypeError(f"{function}: {name} must be a bool array (True = kept), got {array.dtype}")
    return array


def array(function: str, name: str, value: object) -> np.ndarray:
    """Return ``value`` as a numpy array of any dtype (labels, batches); ragged nesting is a ``TypeError``."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError):
        raise TypeError(f"{function}: {name} must be an array, got {type(value).__name__}") from None


def mapping(function: str, name: str, value: object) -> dict:
    """Return a dict copy of ``value``, a mapping of keyword arguments; ``None`` gives an empty dict."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{function}: {name} must be a dict of keyword arguments or None, got {type(value).__name__}")
    return dict(value)
