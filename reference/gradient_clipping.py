"""Gradient clipping: the gradients a training loop hands its optimizer after clipping them by their global norm,
by each tensor's own norm, or elementwise by value.

The reference follows PyTorch's ``torch.nn.utils.clip_grad_norm_`` (scale ``min(1, max_norm / (norm + 1e-6))``,
a non-finite norm applied as it is); optax and Keras differ in two declared conventions, ``eps`` and
``nonfinite_global_norm`` (docs/spec/gradient-clipping.md#conventions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["MODES", "NORM_TYPES", "CONVENTIONS", "norm", "clip"]

MODES = ("global_norm", "per_tensor_norm", "value")
NORM_TYPES = (2.0, math.inf)
#: Each convention keyword and its named values; the first is PyTorch's, the reference's default.
CONVENTIONS = {"eps": (1e-6, 0.0), "nonfinite_global_norm": ("scale", "all_nan")}


def _gradients(function: str, grads: object) -> list[np.ndarray]:
    tensors = check.sequence(function, "grads", grads)
    grads = [check.float_array(function, f"grads[{i}]", g) for i, g in enumerate(tensors)]
    if not grads:
        raise ValueError(f"{function}: grads must hold at least one tensor, got none")
    if len({g.dtype for g in grads}) > 1:
        raise TypeError(f"{function}: grads must share one dtype, got {', '.join(str(g.dtype) for g in grads)}")
    return grads


def _norm_type(function: str, norm_type: object) -> float:
    number = not isinstance(norm_type, (bool, np.bool_)) and isinstance(norm_type, (int, float))
    if not number or float(norm_type) not in NORM_TYPES:
        raise ValueError(f"{function}: norm_type must be 2.0 or inf, got {norm_type!r}")
    return float(norm_type)


def norm(grads: Sequence[np.ndarray], *, norm_type: float = 2.0) -> np.floating:
    """The norm of all tensors taken as one vector, in their dtype.

    Spec: docs/spec/gradient-clipping.md#global-norm

    Math:
        norm_type 2:   norm = sqrt(sum over tensors t, elements i of t_i ** 2)
        norm_type inf: norm = max over tensors t, elements i of |t_i|
        NaN in any element gives NaN; an infinity (and no NaN) gives inf

    Raises:
        TypeError, ValueError: for grads that are not a non-empty list of float arrays of one dtype, or a
            norm_type other than 2 and inf.

    Example:
        >>> float(norm([np.array([3.0]), np.array([[4.0]])]))
        5.0
    """
    function = "gradient_clipping.norm"
    grads, norm_type = _gradients(function, grads), _norm_type(function, norm_type)
    dtype = grads[0].dtype
    with np.errstate(over="ignore", invalid="ignore"):
        if norm_type == math.inf:  # np.max propagates NaN
            return np.max(np.array([np.max(np.abs(g)) for g in grads if g.size] or [0], dtype=dtype))
        return np.sqrt(sum((np.sum(g * g) for g in grads), dtype.type(0)))


def _scale(max_norm: float, total: np.floating, eps: float) -> np.floating:
    """min(1, max_norm / (total + eps)): 1 for a zero norm (no division by zero), 0 for an infinite one,
    NaN for a NaN one (np.minimum propagates NaN)."""
    denominator = total + total.dtype.type(eps)
    if denominator == 0:
        return total.dtype.type(1)
    with np.errstate(invalid="ignore", over="ignore"):  # max_norm / a tiny denominator may overflow to inf: scale 1
        return np.minimum(total.dtype.type(1), total.dtype.type(max_norm) / denominator)


def clip(grads: Sequence[np.ndarray], *, mode: str, max_norm: float | None = None, clip_value: float | None = None,
         norm_type: float = 2.0, eps: float = 1e-6, nonfinite_global_norm: str = "scale",
         error_if_nonfinite: bool = False) -> list[np.ndarray]:
    """The gradients after clipping, as the optimizer receives them; the inputs are not modified.

    Spec: docs/spec/gradient-clipping.md#modes

    Math:
        "global_norm":     scale = min(1, max_norm / (norm(grads) + eps));   t' = t * scale for every tensor
        "per_tensor_norm": scale_t = min(1, max_norm / (norm([t]) + eps));   t' = t * scale_t
        "value":           t'_i = min(max(t_i, -clip_value), clip_value)     (NaN stays NaN)
        a zero norm gives scale 1 (nothing to clip, no division by zero); an infinite norm gives scale 0 (finite
        elements become 0, infinite ones NaN); a NaN norm gives NaN everywhere; with nonfinite_global_norm
        "all_nan" (Keras's global_clipnorm) any non-finite global norm gives NaN everywhere

    Raises:
        ValueError, TypeError: for an unknown mode, a missing or non-positive max_norm ("global_norm",
            "per_tensor_norm") or clip_value ("value"), an unknown eps or nonfinite_global_norm, bad grads or
            norm_type (as ``norm``); ValueError when error_if_nonfinite and a norm is NaN or infinite
            (PyTorch's ``error_if_nonfinite=True``).

    Example (norm 5 clipped to 1: every element scaled by 1 / (5 + 1e-6)):
        >>> [t.round(6).tolist() for t in clip([np.array([3.0]), np.array([4.0])], mode="global_norm", max_norm=1.0)]
        [[0.6], [0.8]]
    """
    function = "gradient_clipping.clip"
    grads, norm_type = _gradients(function, grads), _norm_type(function, norm_type)
    check.choice(function, "mode", mode, MODES)
    if eps not in CONVENTIONS["eps"]:
        raise ValueError(f"{function}: eps must be one of {CONVENTIONS['eps']}, got {eps!r}")
    check.choice(function, "nonfinite_global_norm", nonfinite_global_norm, CONVENTIONS["nonfinite_global_norm"])
    if not isinstance(error_if_nonfinite, (bool, np.bool_)):
        raise TypeError(f"{function}: error_if_nonfinite must be a bool, got {type(error_if_nonfinite).__name__}")
    if mode == "value":
        if clip_value is None:
            raise ValueError(f"{function}: clip_value is required for mode 'value'")
        bound = check.real_number(function, "clip_value", clip_value, low=0.0, low_open=True)
        return [np.clip(g, -bound, bound) for g in grads]
    if max_norm is None:
        raise ValueError(f"{function}: max_norm is required for mode {mode!r}")
    max_norm = check.real_number(function, "max_norm", max_norm, low=0.0, low_open=True)
    groups = [grads] if mode == "global_norm" else [[g] for g in grads]
    out = []
    for group in groups:
        total = norm(group, norm_type=norm_type)
        if error_if_nonfinite and not np.isfinite(total):
            raise ValueError(f"{function}: the {mode} is {float(total)} (error_if_nonfinite is set)")
        if mode == "global_norm" and nonfinite_global_norm == "all_nan" and not np.isfinite(total):
            out += [np.full_like(g, np.nan) for g in group]
            continue
        scale = _scale(max_norm, total, eps)
        with np.errstate(invalid="ignore"):  # inf * 0 (an infinite element under an infinite norm) is NaN
            out += [g * scale for g in group]
    return out
