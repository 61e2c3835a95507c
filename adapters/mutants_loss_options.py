"""Planted bugs in the class-indexed losses' options, each a realistic slip of a hand-written cross-entropy.

Each mutant is PyTorch with one op swapped, and is right without ``ignore_index``: the plain cross-entropy tests
pass; only the option tests (conformance/test_class_losses.py) can see it. Run one with
``nnspec run --backend nnspec.adapters.mutants_loss_options:TorchIgnoredRowsInMean --profile ci -k class_loss``.
tests/conformance/test_loss_option_bugs.py asserts that each fails that run.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F

from nnspec.adapters.torch.backend import TorchBackend
from nnspec.adapters.torch.class_losses import OPS

__all__ = ["MUTANTS", "TorchIgnoredRowsInMean", "TorchSmoothingOverIgnoredRows"]


def _weights(t, p) -> torch.Tensor:
    classes = t["logits"].shape[1]
    weight = torch.ones(classes, dtype=t["logits"].dtype) if p.get("weight") is None else torch.tensor(
        p["weight"], dtype=t["logits"].dtype)
    return weight


def _ignored_rows_in_mean(t, p):
    """"mean" divides the kept rows' weighted sum by the weights of EVERY row, the ignored ones included (the
    label of an ignored row read as class 0): the ignored rows dilute the mean."""
    if p.get("reduction", "mean") != "mean" or p.get("ignore_index") is None:
        return OPS["softmax_cross_entropy"](t, p)
    total = OPS["softmax_cross_entropy"](t, {**p, "reduction": "sum"})
    labels = torch.where(t["target"] == p["ignore_index"], 0, t["target"])
    return total / _weights(t, p)[labels].sum()


def _smoothing_over_ignored_rows(t, p):
    """pytorch/pytorch#73205 (PyTorch 1.10): with label smoothing, the smoothing term eps/C sum_c w_c (-log p_c)
    is not masked, so the ignored rows enter it; the NLL term is right."""
    eps = p.get("label_smoothing", 0.0)
    if eps == 0 or p.get("ignore_index") is None:
        return OPS["softmax_cross_entropy"](t, p)
    reduction, weight = p.get("reduction", "mean"), _weights(t, p)
    log_probs = F.log_softmax(t["logits"], dim=1)
    nll = F.nll_loss(log_probs, t["target"], weight=weight, ignore_index=p["ignore_index"], reduction=reduction)
    smooth = -(log_probs * weight.reshape((-1,) + (1,) * (log_probs.dim() - 2))).sum(dim=1)  # every row
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        kept = t["target"] != p["ignore_index"]
        smooth = smooth.sum() / weight[torch.where(kept, t["target"], 0)][kept].sum()
    return (1 - eps) * nll + eps / t["logits"].shape[1] * smooth


class TorchIgnoredRowsInMean(TorchBackend):
    """Cross-entropy whose "mean" counts the ignored rows in its divisor (issue 15's example)."""

    name = "mutant-torch-ignored-rows-in-mean"
    ops = MappingProxyType({**TorchBackend.ops, "softmax_cross_entropy": _ignored_rows_in_mean})


class TorchSmoothingOverIgnoredRows(TorchBackend):
    """Cross-entropy whose label-smoothing term includes the ignored rows (pytorch/pytorch#73205)."""

    name = "mutant-torch-smoothing-over-ignored-rows"
    ops = MappingProxyType({**TorchBackend.ops, "softmax_cross_entropy": _smoothing_over_ignored_rows})


MUTANTS = (TorchIgnoredRowsInMean, TorchSmoothingOverIgnoredRows)
