"""Inverted dropout: in training, keep each element with probability 1 - p and scale it by 1 / (1 - p).

Randomness is an argument: ``sample_mask`` draws the keep-mask from a ``numpy.random.Generator``, and
``forward`` / ``backward`` apply a given mask, so one mask serves both passes.
"""

from __future__ import annotations

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["DROPPED_VALUES", "backward", "forward", "sample_mask", "scaled_mask"]

#: What a dropped element becomes: "zero" selects 0 (where(mask, x / (1 - p), 0): 0 even for inf and NaN);
#: "x_times_zero" multiplies x by the scaled mask (0 for finite x, NaN for +-inf and NaN; PyTorch).
DROPPED_VALUES = ("zero", "x_times_zero")


def _checked(function: str, x, p, mask, training, dropped_value, x_name: str = "x"):
    x = check.float_array(function, x_name, x)
    p = check.real_number(function, "p", p, low=0.0, high=1.0)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{function}: training must be a bool, got {type(training).__name__}")
    check.choice(function, "dropped_value", dropped_value, DROPPED_VALUES)
    if mask is None:
        if training and 0.0 < p < 1.0:
            raise ValueError(f"{function}: mask is required in training when 0 < p < 1, got None (p={p})")
        return x, p, None
    mask = check.bool_array(function, "mask", mask)
    check.same_shape(function, "mask", mask, x_name, x)
    if (p == 1.0 and mask.any()) or (p == 0.0 and not mask.all()):
        raise ValueError(f"{function}: mask must keep nothing when p = 1 and everything when p = 0, got p={p}")
    return x, p, mask


def sample_mask(shape: tuple[int, ...], p: float, rng: np.random.Generator) -> np.ndarray:
    """Draw a keep-mask: each element kept independently with probability 1 - p.

    Spec: docs/spec/dropout.md#mask

    Math:
        u = rng.random(shape)          independent uniforms on [0, 1)
        mask = u >= p                  P(kept) = 1 - p; p = 0 keeps all, p = 1 keeps none

    Raises:
        TypeError: if shape is not a tuple of ints >= 0 or rng is not a numpy Generator. ValueError: if p is
            not in [0, 1].

    Example:
        >>> sample_mask((4,), 0.0, np.random.default_rng(0)).tolist()
        [True, True, True, True]
    """
    function = "dropout.sample_mask"
    shape = check.shape(function, "shape", shape)
    p = check.real_number(function, "p", p, low=0.0, high=1.0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{function}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng.random(shape) >= p


def scaled_mask(mask: np.ndarray, p: float, dtype: type | np.dtype = np.float64) -> np.ndarray:
    """The mask as the factor dropout multiplies by: 1 / (1 - p) where kept, 0 where dropped.

    Spec: docs/spec/dropout.md#forward

    Raises:
        TypeError: if mask is not a bool array or dtype is not a real floating-point dtype (an integer dtype
            would truncate 1 / (1 - p)). ValueError: as ``forward``, for p and the mask.

    Example:
        >>> scaled_mask(np.array([True, False]), 0.5).tolist()
        [2.0, 0.0]
    """
    dtype = check.float_dtype("dropout.scaled_mask", "dtype", dtype)
    mask = check.bool_array("dropout.scaled_mask", "mask", mask)
    _, p, mask = _checked("dropout.scaled_mask", np.zeros(mask.shape), p, mask, True, "zero")
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return np.where(mask, scale, 0.0).astype(dtype)


def forward(x: np.ndarray, p: float, mask: np.ndarray | None, training: bool = True,
            dropped_value: str = "zero") -> np.ndarray:
    """Apply inverted dropout with a given keep-mask.

    Spec: docs/spec/dropout.md#forward

    Math:
        not training, or p == 0:   y = x                            (the identity, also for inf and NaN)
        "zero":                    y = x / (1 - p) where mask, 0 elsewhere      (p = 1: all 0)
        "x_times_zero":            y = x * (mask / (1 - p))         (p = 1: x * 0)

    Args:
        x: real floating-point array. p: the drop probability, in [0, 1].
        mask: bool array of x's shape, True = kept (from ``sample_mask``); may be None when not training or
            when p is 0 or 1.
        training: dropout acts only in training. dropped_value: "zero" (the spec) or "x_times_zero".

    Returns:
        Array of x's shape and dtype; E[y] = x elementwise.

    Raises:
        TypeError: for a non-float x, a non-bool mask or flag. ValueError: for p outside [0, 1], a mask of
            another shape, a mask that contradicts p = 0 or p = 1, or a missing mask.

    Example:
        >>> forward(np.array([1.0, -3.0, 5.0]), 0.5, np.array([True, False, True]))
        array([ 2.,  0., 10.])
    """
    x, p, mask = _checked("dropout.forward", x, p, mask, training, dropped_value)
    if not training or p == 0.0:
        return x.copy()
    if mask is None:
        mask = np.zeros(x.shape, dtype=bool)
    if dropped_value == "x_times_zero":
        with np.errstate(invalid="ignore"):
            return x * scaled_mask(mask, p, x.dtype)
    kept = x / (1.0 - p) if p < 1.0 else x
    return np.where(mask, kept, 0.0).astype(x.dtype, copy=False)


def backward(grad_output: np.ndarray, p: float, mask: np.ndarray | None, training: bool = True,
             dropped_value: str = "zero") -> np.ndarray:
    """Vector-Jacobian product of dropout: the forward's mask and scale applied to the upstream gradient.

    Spec: docs/spec/dropout.md#backward

    Math:
        not training, or p == 0:   grad_x = grad_output
        otherwise:                 grad_x = forward(grad_output, p, mask, training, dropped_value)

    Example:
        >>> backward(np.array([1.0, 1.0]), 0.75, np.array([True, False]))
        array([4., 0.])
    """
    grad_output, p, mask = _checked("dropout.backward", grad_output, p, mask, training, dropped_value,
                                    x_name="grad_output")
    return forward(grad_output, p, mask, training, dropped_value)
