"""Bounds of binary cross-entropy on probabilities (reference/losses/binary_cross_entropy.py), with the
``log_floor``, ``denominator_floor`` and ``clip_probability`` variants.

Clipped probabilities (docs/spec/losses.md#binary-cross-entropy): Keras's BinaryCrossentropy clips p to
[c, 1 - c] (``clip_probability``). The clip is exact, but its bounds are constants of the dtype: in float32,
1 - 1e-7 is stored as 1 - 2**-23, which moves -log(1 - p) at the upper bound by 0.18 (and the lower bound by a
relative 1e-8). The budget is BCE's own at the clipped p, plus exactly how far the loss moves when a clipped
element's bound is rounded to the dtype.

Spec: docs/spec/error-budgets.md#losses
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance.errormodel import LIBM_ULPS, UNDERFLOW_FLOOR, nan_safe_product
from nnspec.conformance.losses import _reductions
from nnspec.reference import dtypes
from nnspec.reference.losses import binary_cross_entropy


def _unclipped_forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
                             fmt: dtypes.Format) -> np.ndarray:
    """Each log: its own error and the absolute error its rounded argument (1 - p) brings; two products, a sum.
    A smoothed target (``label_smoothing``) is rounded in the dtype: its error moves the loss by
    |log p - log(1 - p)| per unit."""
    u = fmt.unit_roundoff
    prob = arrays["probability"]
    y, target_error = _reductions.smoothed(arrays["target"], params, u)
    values = binary_cross_entropy.forward(prob, y, reduction="none", log_floor=params.get("log_floor"))
    with np.errstate(divide="ignore"):
        log_p, log_q = np.abs(np.log(prob)), np.abs(np.log1p(-prob))
    element = u * (nan_safe_product(y, (LIBM_ULPS + 2) * log_p + 1)
                   + nan_safe_product(1 - y, (LIBM_ULPS + 2) * log_q + 2))
    element = element + u * np.where(np.isfinite(values), np.abs(values), 0.0)
    element = element + nan_safe_product(target_error, log_p + log_q)
    return _reductions.reduce_loss(values, element, params, u)


def forward_bound(arrays: Mapping[str, np.ndarray], params: Mapping[str, object], fmt: dtypes.Format) -> np.ndarray:
    """The unclipped bound; with ``clip_probability`` c, that bound at the clipped p plus how far the loss moves
    where the clip's bound c or 1 - c is rounded to the dtype."""
    c = params.get("clip_probability")
    if c is None:
        return _unclipped_forward_bound(arrays, params, fmt)
    prob, y = arrays["probability"], arrays["target"]
    clipped = np.clip(prob, c, 1 - c)
    rest = {k: v for k, v in params.items() if k != "clip_probability"}
    element = _unclipped_forward_bound({"probability": clipped, "target": y},
                                       {**rest, "reduction": "none", "last_axis": None}, fmt)
    if fmt.name in dtypes.FORMATS:  # (a bound in units of u, for the network budgets, has no dtype to round to)
        bounds = fmt.round(clipped)
        smooth = {"label_smoothing": params.get("label_smoothing", 0.0)}
        moved = (binary_cross_entropy.forward(bounds, y, "none", **smooth)
                 - binary_cross_entropy.forward(clipped, y, "none", **smooth))
        element = element + np.where(clipped != prob, np.abs(moved), 0.0)
    values = binary_cross_entropy.forward(prob, y, reduction="none", clip_probability=c,
                                          label_smoothing=params.get("label_smoothing", 0.0))
    return _reductions.reduce_loss(values, element, params, fmt.unit_roundoff)


def backward_bound(arrays: Mapping[str, np.ndarray], grad: np.ndarray, params: Mapping[str, object],
                   fmt: dtypes.Format) -> dict[str, np.ndarray]:
    """The derivative of the spec's formula has two terms, -y/p + (1-y)/(1-p) (what autodiff of the loss
    computes); they cancel near p = y, so each term's rounding (a division, a product, the sum) is an absolute
    error of u times its magnitude. A closed form (p - y)/(p(1-p)) is more accurate and also passes.

    p - y, 1 - p, the product, the division, *g, /n: six roundings, all relative to the result; and the
    numerator g (p - y) / n may underflow (an absolute error up to tiny each for *g and /n, also under
    flush-to-zero) before the division by a denominator as small as the floor magnifies it.
    """
    u = fmt.unit_roundoff
    prob = arrays["probability"]
    y, target_error = _reductions.smoothed(arrays["target"], params, u)
    scale = _reductions.grad_scale(grad, params, prob.shape)
    denominator = prob * (1 - prob)
    floor = params.get("denominator_floor")
    if floor is not None:
        denominator = np.maximum(denominator, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        gradient = scale * (prob - y) / denominator
        terms = nan_safe_product(y, 1 / prob) + nan_safe_product(1 - y, 1 / (1 - prob))
    terms = np.abs(scale) * np.where(np.isfinite(terms), terms, 0.0)
    underflow = 2 * UNDERFLOW_FLOOR * fmt.tiny / denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        moved = np.abs(scale) * target_error / denominator  # d gradient / d target = -1 / (p (1 - p))
    ops = 6 + _reductions.extra_roundings(params)
    return {"probability": ops * u * np.where(np.isfinite(gradient), np.abs(gradient), 0.0) + 3 * u * terms
            + np.where(np.isfinite(underflow), underflow, 0.0) + np.where(np.isfinite(moved), moved, 0.0)}
