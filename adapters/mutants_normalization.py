"""Planted bugs in the normalization layers: hand-written layers a user or a port gets subtly wrong.

Each subclasses the real torch backend and swaps one entry of its table for the buggy formula, written in torch
ops as such a layer would be. Run one with
``nnspec run --backend nnspec.adapters.mutants_normalization:TorchLayerNormEpsOutsideSqrt --profile ci -k layer_norm``;
tests/conformance/test_normalization_bugs.py asserts that each fails its `ci` run.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F

from nnspec.adapters.torch import model
from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["MUTANTS", "TorchLayerNormEpsOutsideSqrt", "TorchBatchNormUnbiasedVariance",
           "TorchRunningVarianceBiased"]


def _layer_norm_eps_outside(t, p):
    """(x - mean) / (std + eps): eps added to the standard deviation instead of inside the square root."""
    x = t["x"]
    mean = x.mean(dim=-1, keepdim=True)
    std = x.var(dim=-1, unbiased=False, keepdim=True).sqrt()
    return (x - mean) / (std + p["eps"]) * t["weight"] + t["bias"]


def _batch_norm_unbiased(t, p):
    """Normalizing with the unbiased batch variance (divided by N - 1), the estimate torch keeps only for its
    running variance."""
    x = t["x"]
    mean = x.mean(dim=0, keepdim=True)
    variance = x.var(dim=0, unbiased=True, keepdim=True)
    return (x - mean) / (variance + p["eps"]).sqrt() * t["weight"] + t["bias"]


class TorchLayerNormEpsOutsideSqrt(TorchBackend):
    """LayerNorm as (x - mean) / (std + eps) * weight + bias."""

    name = "mutant-torch-layer-norm-eps-outside-sqrt"
    ops = MappingProxyType({**TorchBackend.ops, "layer_norm": _layer_norm_eps_outside})


class TorchBatchNormUnbiasedVariance(TorchBackend):
    """Training-mode BatchNorm normalizing with the unbiased variance."""

    name = "mutant-torch-batch-norm-unbiased-variance"
    ops = MappingProxyType({**TorchBackend.ops, "batch_norm": _batch_norm_unbiased})


class TorchRunningVarianceBiased(TorchBackend):
    """A hand-written BatchNorm whose running variance averages the biased batch variance (the one it normalizes
    with) while declaring torch's conventions, which average the unbiased one: right in training mode, wrong
    after it."""

    name = "mutant-torch-running-variance-biased"

    def batch_norm_running_stats(self, batches, momentum, x, weight, bias, eps, dtype):
        mean, var = self._tensor(0.0 * weight, dtype), self._tensor(1.0 + 0.0 * weight, dtype)
        with torch.no_grad():
            for batch in map(lambda b: self._tensor(b, dtype), batches):
                mean = (1 - momentum) * mean + momentum * batch.mean(dim=0)
                var = (1 - momentum) * var + momentum * batch.var(dim=0, unbiased=False)
            y = F.batch_norm(self._tensor(x, dtype), mean, var, self._tensor(weight, dtype),
                             self._tensor(bias, dtype), training=False, eps=eps)
        return model.as_numpy(mean), model.as_numpy(var), model.as_numpy(y)


#: class name -> the `-k` keyword of the tests it must fail
MUTANTS = MappingProxyType({"TorchLayerNormEpsOutsideSqrt": "layer_norm",
                            "TorchBatchNormUnbiasedVariance": "batch_norm and not running_stats",
                            "TorchRunningVarianceBiased": "running_stats"})
