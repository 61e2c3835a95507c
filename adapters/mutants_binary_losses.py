"""Planted bugs in the binary losses' options and KL divergence (docs/spec/losses.md#pos-weight, #kl-divergence):
PyTorch backends, each with ONE realistic bug in one loss and everything else PyTorch's own. Run one with
``nnspec run --backend nnspec.adapters.mutants_binary_losses:TorchPosWeightOnNegativeTerm --profile ci -k pos_weight``.
tests/conformance/test_binary_loss_bugs.py asserts that each fails that run.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F

from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["MUTANTS", "TorchPosWeightOnNegativeTerm", "TorchKlBatchmeanOverEveryElement"]


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    return losses if reduction == "none" else losses.mean() if reduction == "mean" else losses.sum()


def _pos_weight_on_negative_term(t, p):
    """A hand-written weighted BCE whose weight multiplies the wrong term: w (1 - y) softplus(x) + y softplus(-x)
    instead of (1 - y) softplus(x) + w y softplus(-x). Right wherever pos_weight is 1 or not given."""
    x, y = t["logits"], t["target"]
    w = 1.0 if p.get("pos_weight") is None else torch.tensor(p["pos_weight"], dtype=x.dtype, device=x.device)
    return _reduce(w * (1 - y) * F.softplus(x) + y * F.softplus(-x), p.get("reduction", "mean"))


def _kl_batchmean_over_every_element(t, p):
    """'batchmean' passed on as 'mean': divides by every element instead of the batch (the classic pitfall)."""
    reduction = p.get("reduction", "mean")
    return F.kl_div(t["log_prediction"], t["target"], reduction="mean" if reduction == "batchmean" else reduction,
                    log_target=bool(p.get("log_target", False)))


class TorchPosWeightOnNegativeTerm(TorchBackend):
    """BCE with logits with pos_weight on the negative term."""

    name = "mutant-torch-pos-weight-on-negative-term"
    ops = MappingProxyType({**TorchBackend.ops, "binary_cross_entropy_with_logits": _pos_weight_on_negative_term})


class TorchKlBatchmeanOverEveryElement(TorchBackend):
    """KL divergence whose 'batchmean' divides by every element, as 'mean' does."""

    name = "mutant-torch-kl-batchmean-over-every-element"
    ops = MappingProxyType({**TorchBackend.ops, "kl_divergence": _kl_batchmean_over_every_element})


MUTANTS = (TorchPosWeightOnNegativeTerm, TorchKlBatchmeanOverEveryElement)
