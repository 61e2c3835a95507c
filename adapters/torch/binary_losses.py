"""PyTorch's binary losses with their options and its KL divergence (docs/spec/losses.md#pos-weight,
#kl-divergence): F.binary_cross_entropy_with_logits with ``pos_weight`` (a tensor broadcast over the last axis),
F.kl_div with ``reduction`` "mean" | "batchmean" | "sum" | "none" and ``log_target``. torch has no binary label
smoothing (nn.BCELoss and nn.BCEWithLogitsLoss take none), so that option is not declared.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F

__all__ = ["OPS", "OPTIONS"]


def _bce_with_logits(t, p):
    logits = t["logits"]
    weight = None if p.get("pos_weight") is None else torch.tensor(p["pos_weight"], dtype=logits.dtype,
                                                                   device=logits.device)
    return F.binary_cross_entropy_with_logits(logits, t["target"], reduction=p.get("reduction", "mean"),
                                              pos_weight=weight)


def _kl_div(t, p):
    return F.kl_div(t["log_prediction"], t["target"], reduction=p.get("reduction", "mean"),
                    log_target=bool(p.get("log_target", False)))


#: primitive -> callable(tensors, params)
OPS = MappingProxyType({"binary_cross_entropy_with_logits": _bce_with_logits, "kl_divergence": _kl_div})

#: the options of catalogue.OPTIONS torch implements
OPTIONS = MappingProxyType({"binary_cross_entropy_with_logits": frozenset({"pos_weight"}),
                            "kl_divergence": frozenset({"log_target"})})
