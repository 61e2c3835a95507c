"""PyTorch's class-indexed losses: F.cross_entropy (labels or probabilities) and F.nll_loss, with ``weight``,
``ignore_index``, ``label_smoothing`` and inputs of shape (N, C, d1, ...), classes on dim 1 as in the reference
(docs/spec/losses.md#class-weights-and-ignore-index). torch implements every option the catalogue lists.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F

from nnspec.reference import catalogue

__all__ = ["OPS", "OPTIONS"]


def _options(t, p, prediction: str) -> dict:
    """torch's keyword arguments: reduction, the class weights as a tensor of the prediction's dtype, and
    ignore_index (torch's default -100 when the check names none)."""
    weight = None if p.get("weight") is None else torch.tensor(p["weight"], dtype=t[prediction].dtype,
                                                               device=t[prediction].device)
    ignore_index = -100 if p.get("ignore_index") is None else p["ignore_index"]
    return {"reduction": p.get("reduction", "mean"), "weight": weight, "ignore_index": ignore_index}


def _cross_entropy(t, p):
    return F.cross_entropy(t["logits"], t["target"], label_smoothing=p.get("label_smoothing", 0.0),
                           **_options(t, p, "logits"))


#: primitive -> callable(tensors, params), merged into tables.OPS
OPS = MappingProxyType({
    "softmax_cross_entropy": _cross_entropy,
    "softmax_cross_entropy_probs": _cross_entropy,
    "nll_loss": lambda t, p: F.nll_loss(t["log_probs"], t["target"], **_options(t, p, "log_probs")),
})

#: every option of these primitives (catalogue.OPTIONS)
OPTIONS = MappingProxyType({name: frozenset(catalogue.OPTIONS[name]) for name in OPS})
