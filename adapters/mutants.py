"""Planted bugs: PyTorch backends with one thing wrong each, to show (and test) that the suite catches them.

Run one with ``nnspec run --backend nnspec.adapters.mutants:ReluGradAtZeroIsOne``. Each class says what it
breaks and which real bug it imitates (../shared/REAL_BUGS.md). nnspec's own tests assert that every mutant
fails the suite with a message naming the primitive, the dtype, the input and the error/budget.
"""

from __future__ import annotations

from types import MappingProxyType

import torch

from nnspec.adapters.torch_backend import TorchBackend

__all__ = ["MUTANTS"]


def _swap(name: str, op) -> MappingProxyType:
    return MappingProxyType({**TorchBackend.ops, name: op})


class ReluGradAtZeroIsOne(TorchBackend):
    """relu written as where(x >= 0, x, 0): the same values, but relu'(0) = 1 (the convention is 0)."""

    name = "mutant-relu-grad-at-zero"
    ops = _swap("relu", lambda t, p: torch.where(t["x"] >= 0, t["x"], torch.zeros_like(t["x"])))


def _softmax_without_shift(t, p):
    e = torch.exp(t["x"])
    return e / e.sum(dim=p.get("axis", -1), keepdim=True)


class SoftmaxWithoutMaxShift(TorchBackend):
    """softmax as exp(x) / sum(exp(x)): overflows to NaN for large logits (pytorch#94043's kind)."""

    name = "mutant-softmax-no-shift"
    ops = _swap("softmax", _softmax_without_shift)


def _unstable_bce_with_logits(t, p):
    s = torch.sigmoid(t["logits"])
    y = t["target"]
    loss = -(y * torch.log(s) + (1 - y) * torch.log(1 - s))
    reduction = p.get("reduction", "mean")
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


class UnstableBceWithLogits(TorchBackend):
    """BCE on logits through log(sigmoid(x)): inf/NaN for saturated logits (pytorch#2221, #49844's kind)."""

    name = "mutant-unstable-bce-logits"
    ops = _swap("binary_cross_entropy_with_logits", _unstable_bce_with_logits)


class BiasGradientNotSummed(TorchBackend):
    """The bias gradient averaged over the batch instead of summed (pytorch#1787's kind)."""

    name = "mutant-bias-grad-not-summed"

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        grads = super().vjp(primitive, arrays, params, grad_output, dtype)
        if primitive == "dense" and "bias" in grads and arrays["x"].ndim == 2:
            grads["bias"] = grads["bias"] / arrays["x"].shape[0]
        return grads


class WeightGradientTransposed(TorchBackend):
    """The weight gradient returned in torch's (out, in) layout, i.e. transposed."""

    name = "mutant-weight-grad-transposed"

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        grads = super().vjp(primitive, arrays, params, grad_output, dtype)
        if primitive == "dense":
            grads["weight"] = grads["weight"].T
        return grads


class Tf32Dense(TorchBackend):
    """Dense layers with inputs rounded to TF32 (10-bit mantissa) as an Ampere+ GPU does with TF32 matmul on,
    emulated on any device: the float32 budget must reject it."""

    name = "mutant-tf32-dense"

    def _tensors(self, primitive, arrays, dtype, grad):
        tensors = super()._tensors(primitive, arrays, dtype, grad)
        if primitive != "dense" or dtype != "float32":
            return tensors
        rounded = {}
        for key, tensor in tensors.items():
            bits = tensor.detach().view(torch.int32)
            bits = (bits + 0x1000 + ((bits >> 13) & 1) - 1) & ~0x1FFF  # round to nearest even at bit 13
            rounded[key] = bits.view(torch.float32).requires_grad_(tensor.requires_grad)
        return rounded


MUTANTS = {
    "relu": ReluGradAtZeroIsOne,
    "softmax": SoftmaxWithoutMaxShift,
    "binary_cross_entropy_with_logits": UnstableBceWithLogits,
    "dense-bias": BiasGradientNotSummed,
    "dense-weight": WeightGradientTransposed,
    "dense-tf32": Tf32Dense,
}
