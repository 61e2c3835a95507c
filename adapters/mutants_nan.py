"""Planted NaN bugs: PyTorch backends that swallow NaN, to show (and test) that the NaN tests catch them.

Run one with ``nnspec run --backend nnspec.adapters.mutants_nan:ReluNanIsZero -k nan``. A NaN that turns into
a number hides a diverged training run: the loss looks finite while the weights are garbage.

Spec: docs/spec/conventions.md#nan-propagation
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F

from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["ReluNanIsZero", "SoftmaxSwallowsNan", "MUTANTS"]


def _swap(**ops) -> MappingProxyType:
    return MappingProxyType({**TorchBackend.ops, **ops})


class ReluNanIsZero(TorchBackend):
    """relu written as where(x > 0, x, 0): relu(NaN) = 0, since NaN > 0 is false (a shipped bug: PyTorch
    0.4.0, pytorch/pytorch#7999; TF on GPU, tensorflow/tensorflow#40072)."""

    name = "mutant-relu-nan-is-zero"
    ops = _swap(relu=lambda t, p: torch.where(t["x"] > 0, t["x"], torch.zeros_like(t["x"])))


def _cross_entropy(t, p):
    return F.cross_entropy(torch.nan_to_num(t["logits"]), t["target"], reduction=p.get("reduction", "mean"),
                           label_smoothing=p.get("label_smoothing", 0.0))


class SoftmaxSwallowsNan(TorchBackend):
    """softmax, log_softmax and cross-entropy of ``nan_to_num(x)``: a "defensive" sanitiser that makes a NaN
    logit 0, so the loss of a diverged model stays finite."""

    name = "mutant-softmax-swallows-nan"
    ops = _swap(
        softmax=lambda t, p: F.softmax(torch.nan_to_num(t["x"]), dim=p.get("axis", -1)),
        log_softmax=lambda t, p: F.log_softmax(torch.nan_to_num(t["x"]), dim=p.get("axis", -1)),
        softmax_cross_entropy=_cross_entropy,
        softmax_cross_entropy_probs=_cross_entropy,
    )


MUTANTS = {"relu-nan": ReluNanIsZero, "softmax-nan": SoftmaxSwallowsNan}
