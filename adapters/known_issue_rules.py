"""Predicates shared by several backends' known-issue lists (``KnownIssue.where`` functions)."""

from __future__ import annotations

import numpy as np

from nnspec.conformance import dtypes
from nnspec.reference import catalogue

__all__ = ["LOSSES", "mean_overflows"]

LOSSES = ("mean_squared_error", "binary_cross_entropy", "binary_cross_entropy_with_logits",
          "softmax_cross_entropy", "softmax_cross_entropy_probs")


def mean_overflows(primitive: str):
    """``where`` for a loss whose reduction='mean' is computed as sum / n in the input dtype: true when the exact
    mean is finite but the sum of the losses exceeds the dtype's range (the kind of pytorch/pytorch#91597)."""

    def where(arrays, params, dtype):
        if params.get("reduction", "mean") != "mean":
            return np.asarray(False)
        losses = catalogue.get(primitive).module.forward(**arrays, reduction="none")
        total = np.sum(np.abs(np.where(np.isfinite(losses), losses, 0.0)))
        return np.asarray(total > dtypes.get(dtype).max)

    return where
