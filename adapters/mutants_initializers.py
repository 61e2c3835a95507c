"""Planted bugs in initializers: each a realistic mistake of a torch adapter (or of a user) that draws from the
wrong law while every value still looks plausible. Run one with ``nnspec run --backend
nnspec.adapters.mutants_initializers:TorchWeightNotTransposed --profile ci -k initializer``;
tests/conformance/test_initializer_bugs.py asserts that each fails that run.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnspec.adapters.torch import model
from nnspec.adapters.torch.backend import TorchBackend
from nnspec.adapters.torch.tables import DTYPES

__all__ = ["MUTANTS", "TorchWeightNotTransposed", "TorchLinearBiasBoundSqrt6"]


class TorchWeightNotTransposed(TorchBackend):
    """He normal drawn into a tensor of nnspec's (in, out) shape instead of torch's (out, in): torch then reads
    ``fan_in = size(1)``, the layer's fan_out, so ``mode="fan_in"`` scales by fan_out (the layout mistake
    ``nn.init.kaiming_normal_``'s docstring warns about: pass ``w.T``)."""

    name = "mutant-torch-he-normal-not-transposed"

    def initialize(self, initializer, shape, hyper, seed, dtype):
        if initializer != "he_normal":
            return super().initialize(initializer, shape, hyper, seed, dtype)
        weight = torch.empty(shape[0], shape[1], dtype=DTYPES[dtype], device=self._device)  # (in, out): wrong
        generator = torch.Generator(device=self._device).manual_seed(seed)
        mode = hyper.get("mode", "fan_in")
        with torch.no_grad():
            nn.init.kaiming_normal_(weight, mode=mode if mode != "fan_avg" else "fan_in", nonlinearity="relu",
                                    generator=generator)
        return model.as_numpy(weight)


class TorchLinearBiasBoundSqrt6(TorchBackend):
    """``nn.Linear``'s bias re-drawn from U(+-sqrt(6 / fan_in)), the He-uniform bound of a ReLU layer, instead of
    torch's U(+-1 / sqrt(fan_in)): the bias is sqrt(6) = 2.45 times too wide."""

    name = "mutant-torch-linear-bias-bound-sqrt6"

    def dense_default_init(self, fan_in, fan_out, seed, dtype):
        weight, _ = super().dense_default_init(fan_in, fan_out, seed, dtype)
        bias = torch.empty(fan_out, dtype=DTYPES[dtype], device=self._device)
        bound = math.sqrt(6.0 / fan_in)
        nn.init.uniform_(bias, -bound, bound, generator=torch.Generator(device=self._device).manual_seed(seed))
        return weight, model.as_numpy(bias)


MUTANTS = (TorchWeightNotTransposed, TorchLinearBiasBoundSqrt6)
