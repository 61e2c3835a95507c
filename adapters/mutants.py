"""Planted bugs: PyTorch backends with one thing wrong each, to show (and test) that the suite catches them.

Run one with ``nnspec run --backend nnspec.adapters.mutants:ReluGradAtZeroIsOne``. Each class says what it
breaks and which real bug it imitates (../shared/REAL_BUGS.md). nnspec's own tests assert that every mutant
fails the suite with a message naming the primitive, the dtype, the input and the error/budget.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import torch

from nnspec.adapters.base import EarlyStoppingResult
from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.adapters.torch.backend import TorchBackend
from nnspec.reference import dtypes

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
            # divided in the dtype under test, as a framework computing in it would
            grads["bias"] = dtypes.round_to(grads["bias"] / arrays["x"].shape[0], dtype)
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


class Float16ComputedInBfloat16(TorchBackend):
    """float16 primitives computed in bfloat16 and cast back (a kernel dispatched on the wrong half type, as
    an autocast policy can do): 3 bits of precision lost, which the float16 budget must reject."""

    name = "mutant-float16-computed-in-bfloat16"

    def forward(self, primitive, arrays, params, dtype):
        if dtype != "float16":
            return super().forward(primitive, arrays, params, dtype)
        return dtypes.round_to(super().forward(primitive, _bfloat16(arrays), params, "bfloat16"), "float16")

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        if dtype != "float16":
            return super().vjp(primitive, arrays, params, grad_output, dtype)
        grads = super().vjp(primitive, _bfloat16(arrays), params, dtypes.round_to(grad_output, "bfloat16"),
                            "bfloat16")
        return {name: dtypes.round_to(grad, "float16") for name, grad in grads.items()}


def _bfloat16(arrays):
    return {k: (dtypes.round_to(v, "bfloat16") if np.issubdtype(np.asarray(v).dtype, np.floating) else v)
            for k, v in arrays.items()}


MUTANTS = {
    "relu": ReluGradAtZeroIsOne,
    "softmax": SoftmaxWithoutMaxShift,
    "binary_cross_entropy_with_logits": UnstableBceWithLogits,
    "dense-bias": BiasGradientNotSummed,
    "dense-weight": WeightGradientTransposed,
    "dense-tf32": Tf32Dense,
    "float16-as-bfloat16": Float16ComputedInBfloat16,
}


# --- optimizers: torch.optim classes with one term wrong (docs/spec/optimizers.md#conformance) ------------------
# Each subclass runs torch's own step, with its state or hyperparameters altered around it so that exactly one
# term of the update is wrong.


class _AdamWithoutBiasCorrection(torch.optim.Adam):
    """Adam with m and v used uncorrected: the step counter is held at 2**20 during the step, where
    1 - beta**t == 1 for every beta < 1 in float64."""

    def step(self, closure=None):
        taken = {}
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if p.grad is not None and len(state) == 0:  # torch's lazy initialisation, done here first
                    state.update(step=torch.tensor(0.0), exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                if "step" in state:
                    taken[p] = state["step"].clone()
                    state["step"].fill_(2.0**20 - 1)
        loss = super().step(closure)
        for p, step in taken.items():
            self.state[p]["step"].copy_(step + 1)
        return loss


class _AdagradEpsInsideSqrt(torch.optim.Adagrad):
    """Adagrad dividing by sqrt(sum + eps) (Keras's placement) where PyTorch declares sqrt(sum) + eps: eps is
    added to the accumulator before torch's step (run with eps = 0) and taken out after."""

    def step(self, closure=None):
        eps = {}
        for group in self.param_groups:
            eps[id(group)], group["eps"] = group["eps"], 0.0
            for p in group["params"]:
                self.state[p]["sum"].add_(eps[id(group)])
        loss = super().step(closure)
        for group in self.param_groups:
            group["eps"] = eps[id(group)]
            for p in group["params"]:
                self.state[p]["sum"].sub_(group["eps"])
        return loss


class _AdamWDecayNotScaledByLr(torch.optim.AdamW):
    """AdamW shrinking the parameter by (1 - weight_decay) instead of (1 - lr * weight_decay): torch's step runs
    with weight_decay / lr."""

    def step(self, closure=None):
        saved = [group["weight_decay"] for group in self.param_groups]
        for group in self.param_groups:
            group["weight_decay"] = group["weight_decay"] / group["lr"] if group["lr"] else 0.0
        loss = super().step(closure)
        for group, weight_decay in zip(self.param_groups, saved):
            group["weight_decay"] = weight_decay
        return loss


class _SgdBufferStartedAtZero(torch.optim.SGD):
    """SGD whose momentum buffer starts at zero, so the first step is dampened (b1 = (1 - dampening) g1;
    PyTorch copies g1 undampened): a zero buffer is placed before torch's first step."""

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if group["momentum"] != 0 and "momentum_buffer" not in self.state[p]:
                    self.state[p]["momentum_buffer"] = torch.zeros_like(p)
        return super().step(closure)


class _AmsgradMaxNotKept(torch.optim.Adam):
    """AMSGrad whose running max is lost between steps (pytorch/pytorch#78807's kind): it is reset to zero before
    each step, so the denominator uses the current v only."""

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if group["amsgrad"] and "max_exp_avg_sq" in self.state[p]:
                    self.state[p]["max_exp_avg_sq"].zero_()
        return super().step(closure)


def _swap_optimizer(name: str, cls: type) -> MappingProxyType:
    return MappingProxyType({**TorchBackend.optimizer_classes, name: cls})


class AdamWithoutBiasCorrection(TorchBackend):
    """Adam without bias correction: the first step is off by (1 - beta1) / sqrt(1 - beta2), 3.16 at the defaults."""

    name = "mutant-adam-no-bias-correction"
    optimizer_classes = _swap_optimizer("adam", _AdamWithoutBiasCorrection)


class AdagradEpsInsideSqrt(TorchBackend):
    """Adagrad's eps inside the square root while the backend declares PyTorch's outside placement."""

    name = "mutant-adagrad-eps-inside-sqrt"
    optimizer_classes = _swap_optimizer("adagrad", _AdagradEpsInsideSqrt)


class AdamWDecayNotScaledByLr(TorchBackend):
    """AdamW's decoupled decay not multiplied by the learning rate."""

    name = "mutant-adamw-decay-not-scaled-by-lr"
    optimizer_classes = _swap_optimizer("adamw", _AdamWDecayNotScaledByLr)


class SgdMomentumBufferStartedAtZero(TorchBackend):
    """SGD's momentum buffer started at zero (optax's convention) while PyTorch's is declared."""

    name = "mutant-sgd-buffer-started-at-zero"
    optimizer_classes = _swap_optimizer("sgd", _SgdBufferStartedAtZero)


class AmsgradRunningMaxNotKept(TorchBackend):
    """AMSGrad without its running max."""

    name = "mutant-amsgrad-max-not-kept"
    optimizer_classes = _swap_optimizer("adam", _AmsgradMaxNotKept)


MUTANTS.update({
    "adam-bias-correction": AdamWithoutBiasCorrection,
    "adagrad-eps-placement": AdagradEpsInsideSqrt,
    "adamw-decay-lr": AdamWDecayNotScaledByLr,
    "sgd-buffer-zero-init": SgdMomentumBufferStartedAtZero,
    "amsgrad-running-max": AmsgradRunningMaxNotKept,
})


# --- dropout and early stopping (docs/spec/dropout.md, docs/spec/early-stopping.md) ------------------------------


def _bernoulli_dropout(backend, x, keep, scale, seed, dtype, grad_output):
    """x * mask * scale with mask ~ Bernoulli(keep) from a seeded torch.Generator (the mutants' own dropout)."""
    tensor = backend._tensor(x, dtype, requires_grad=grad_output is not None)
    generator = torch.Generator(device=backend._device).manual_seed(seed)
    mask = torch.bernoulli(torch.full_like(tensor.detach(), keep), generator=generator)
    y = tensor * mask * scale
    as_numpy = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
    if grad_output is None:
        return as_numpy(y), None
    (grad,) = torch.autograd.grad(y, tensor, backend._tensor(grad_output, dtype))
    return as_numpy(y), as_numpy(grad)


class DropoutWithoutScale(TorchBackend):
    """Dropout that zeroes elements but forgets the 1 / (1 - p) scale of kept ones (the mean shrinks)."""

    name = "mutant-dropout-without-scale"

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        if not training or p in (0.0, 1.0):
            return super().dropout(x, p, training, seed, dtype, grad_output)
        return _bernoulli_dropout(self, x, 1.0 - p, 1.0, seed, dtype, grad_output)


class DropoutScalesAtEval(TorchBackend):
    """Inverted dropout in training, and also the old non-inverted rule's x * (1 - p) at evaluation."""

    name = "mutant-dropout-scales-at-eval"

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        if training:
            return super().dropout(x, p, training, seed, dtype, grad_output)
        return _bernoulli_dropout(self, x, 1.0, 1.0 - p, seed, dtype, grad_output)


class DropoutMaskReusedAcrossCalls(TorchBackend):
    """The first mask drawn for a shape is cached and reused by every later call, whatever the seed (the kind of
    bug a reused JAX key or a mask kept on a module produces)."""

    name = "mutant-dropout-mask-reused"

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        cache = self.__dict__.setdefault("_first_seed", {})
        return super().dropout(x, p, training, cache.setdefault((np.shape(x), p), seed), dtype, grad_output)


class DropoutKeepRateOff(TorchBackend):
    """Keeps each element with probability 0.97 (1 - p): a keep rate off by 3% (relative), scale still 1/(1-p)."""

    name = "mutant-dropout-keep-rate-off"

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        if not training or p in (0.0, 1.0):
            return super().dropout(x, p, training, seed, dtype, grad_output)
        return _bernoulli_dropout(self, x, 0.97 * (1.0 - p), 1.0 / (1.0 - p), seed, dtype, grad_output)


class EarlyStoppingRestoresOnlyWhenStopped(ReferenceBackend):
    """restore_best_weights honoured only when early stopping stopped training itself; a run that ends by epoch
    count keeps its last weights (keras-team/keras#12511)."""

    name = "mutant-early-stopping-restores-only-when-stopped"

    def early_stopping(self, losses, rules):
        result = super().early_stopping(losses, rules)
        if result.stopped_epoch is None:
            return EarlyStoppingResult(None, len(losses) - 1)
        return result


class EarlyStoppingPatienceOffByOne(ReferenceBackend):
    """Stops one epoch late: `wait > patience` where the rule is `wait >= patience`."""

    name = "mutant-early-stopping-patience-off-by-one"

    def early_stopping(self, losses, rules):
        return super().early_stopping(losses, {**rules, "patience": max(int(rules.get("patience", 0)), 1) + 1})


MUTANTS.update({
    "dropout-scale": DropoutWithoutScale,
    "dropout-eval": DropoutScalesAtEval,
    "dropout-mask-reused": DropoutMaskReusedAcrossCalls,
    "dropout-keep-rate": DropoutKeepRateOff,
    "early-stopping-restore": EarlyStoppingRestoresOnlyWhenStopped,
    "early-stopping-patience": EarlyStoppingPatienceOffByOne,
})
