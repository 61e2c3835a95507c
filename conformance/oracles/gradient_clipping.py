"""Exact gradient clipping: the definitions of docs/spec/gradient-clipping.md written again with mpmath at 50
digits, rounded once to float64 at the end. It never imports ``nnspec.reference``.

Finite inputs only: the non-finite cases are pinned by hand in tests/reference/test_gradient_clipping.py.
- the L2 norm is mpmath's sqrt of the exact sum of squares (``mpmath.fsum``), the infinity norm the largest |t_i|;
- the scale is min(1, c / (N + eps)) with eps the binary64 number the float 1e-6 stands for, and 1 when N + eps is 0;
- by value, each element is max(-v, min(v, t_i)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import mpmath
import numpy as np

__all__ = ["clipped"]

_DIGITS = 50


def _norm(values: list, norm_type: float):
    if norm_type == math.inf:
        return max((abs(v) for v in values), default=mpmath.mpf(0))
    return mpmath.sqrt(mpmath.fsum(v * v for v in values))


def _scaled(tensors: list[np.ndarray], max_norm: float, norm_type: float, eps: float) -> list[np.ndarray]:
    values = [mpmath.mpf(float(v)) for t in tensors for v in np.ravel(t)]
    denominator = _norm(values, norm_type) + mpmath.mpf(eps)
    scale = mpmath.mpf(1) if denominator == 0 else min(mpmath.mpf(1), mpmath.mpf(max_norm) / denominator)
    return [np.array([float(mpmath.mpf(float(v)) * scale) for v in np.ravel(t)]).reshape(np.shape(t))
            for t in tensors]


def clipped(grads: Sequence[np.ndarray], mode: str, *, max_norm: float | None = None,
            clip_value: float | None = None, norm_type: float = 2.0, eps: float = 1e-6) -> list[np.ndarray]:
    """The clipped gradients of finite ``grads`` in float64, each element rounded once from 50 digits.

    Example:
        >>> [t.tolist() for t in clipped([np.array([3.0]), np.array([4.0])], "global_norm", max_norm=5.0, eps=0.0)]
        [[3.0], [4.0]]
    """
    with mpmath.workdps(_DIGITS):
        if mode == "value":
            bound = mpmath.mpf(clip_value)
            return [np.array([float(max(-bound, min(bound, mpmath.mpf(float(v))))) for v in np.ravel(t)])
                    .reshape(np.shape(t)) for t in grads]
        groups = [list(grads)] if mode == "global_norm" else [[t] for t in grads]
        return [t for group in groups for t in _scaled(group, max_norm, norm_type, eps)]
