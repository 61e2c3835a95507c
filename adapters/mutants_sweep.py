"""Planted bugs that live at a handful of 16-bit inputs: only an exhaustive sweep is sure to find them.

Run one with ``nnspec run --backend nnspec.adapters.mutants_sweep:SigmoidWrongAtLargestSubnormal --dtype float16
-k sweep``. tests/conformance/test_sweep_bugs.py asserts that each fails the ``ci`` sweeps with a replayable case.
"""

from __future__ import annotations

from types import MappingProxyType

import torch

from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["SigmoidWrongAtLargestSubnormal", "SigmoidWrongOnVectorsAtLargestSubnormal", "TanhGradNanInOneBinade"]

#: The largest float16 subnormal, (1 - 2**-10) * 2**-14 (bit pattern 0x03FF).
LARGEST_SUBNORMAL = (1 - 2.0**-10) * 2.0**-14


def _sigmoid_wrong_at_largest_subnormal(t, p):
    x = t["x"]
    y = torch.sigmoid(x)
    if x.dtype != torch.float16:
        return y
    return torch.where(x == LARGEST_SUBNORMAL, torch.zeros_like(y), y)


class SigmoidWrongAtLargestSubnormal(TorchBackend):
    """float16 sigmoid is 0 at the largest subnormal input only (spec: 0.5), as a lookup-table kernel whose last
    subnormal entry was left unset would be; every other input is torch's own."""

    name = "mutant-sigmoid-wrong-at-largest-subnormal"
    ops = MappingProxyType({**TorchBackend.ops, "sigmoid": _sigmoid_wrong_at_largest_subnormal})


def _sigmoid_wrong_on_vectors(t, p):
    x = t["x"]
    return torch.sigmoid(x) if x.numel() < 2 else _sigmoid_wrong_at_largest_subnormal(t, p)


class SigmoidWrongOnVectorsAtLargestSubnormal(TorchBackend):
    """As ``SigmoidWrongAtLargestSubnormal``, but only in arrays of two elements or more: a vectorised kernel's
    defect that a one-element replay, taking the scalar path, would not show (torch's float32 GELU gradient does
    this, docs/findings.md#torch-gelu-grad-vectorised-erf)."""

    name = "mutant-sigmoid-wrong-on-vectors-at-largest-subnormal"
    ops = MappingProxyType({**TorchBackend.ops, "sigmoid": _sigmoid_wrong_on_vectors})


class _TanhNanGradInBinade(torch.autograd.Function):
    """tanh whose backward is NaN for inputs in [1/8, 1/4), one binade of positive inputs."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        in_binade = (x >= 0.125) & (x < 0.25)
        return torch.where(in_binade, torch.full_like(grad, float("nan")), grad * (1 - y * y))


class TanhGradNanInOneBinade(TorchBackend):
    """tanh's gradient is NaN for x in [1/8, 1/4) (one binade: 1,024 float16 inputs, 128 bfloat16 ones), as a
    kernel with a wrong polynomial table for one exponent would be; the forward and every other gradient are
    right."""

    name = "mutant-tanh-grad-nan-in-one-binade"
    ops = MappingProxyType({**TorchBackend.ops, "tanh": lambda t, p: _TanhNanGradInBinade.apply(t["x"])})
