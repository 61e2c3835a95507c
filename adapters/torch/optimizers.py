"""PyTorch optimizers for the torch backend: torch.optim classes driven one step at a time from a given state.

The reference names its state fields as PyTorch does (``nnspec.reference.optimizers``), so loading a state is
layout translation only: ``step`` becomes torch's scalar step tensor, arrays become tensors of the parameter's
dtype, ``None`` fields are left out. Two PyTorch facts shape the loading:

- ``torch.optim.SGD`` keeps no step count; a missing ``momentum_buffer`` marks the first step (it then copies
  the gradient), so a reference state with ``step == 0`` is loaded as an empty state.
- Scalar state (``step``, NAdam's ``mu_product``) is held in torch's scalar dtype: float64 when the default
  dtype is float64, float32 otherwise (``torch.optim.optimizer._get_scalar_dtype``), also for float64 params.

Options: ``optimizer_impl=for_loop`` (default; ``foreach=False``), ``foreach`` or ``fused`` (declared only for the
classes whose fused kernel runs on the device: SGD, Adagrad, Adam, AdamW on CPU; not Adagrad on CUDA).

Spec: docs/spec/optimizers.md#conformance
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import torch

from nnspec.adapters.base import OptimizerDeclaration, UnsupportedError
from nnspec.reference.optimizers import profiles

__all__ = ["TorchOptimizersMixin", "OPTIMIZER_CLASSES", "PYTORCH_DECLARATIONS"]

OPTIMIZER_CLASSES = MappingProxyType({
    "sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
    "adadelta": torch.optim.Adadelta, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
    "adamax": torch.optim.Adamax, "nadam": torch.optim.NAdam,
})

_IMPLEMENTATIONS = {"for_loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


#: NAdam's mu_product is a float32 tensor unless torch's default dtype is float64 (the suite never changes it): a
#: precision fact for the budget, not a reference keyword (docs/findings.md#torch-nadam-mu-product).
_PRECISION = {"nadam": {"scalar_dtype": "float32"}}

#: What PyTorch declares for every torch.optim class nnspec knows: the pytorch profile and its precision facts.
PYTORCH_DECLARATIONS: Mapping[str, OptimizerDeclaration] = MappingProxyType({
    name: OptimizerDeclaration(MappingProxyType(profiles.conventions("pytorch", name)),
                               MappingProxyType(_PRECISION.get(name, {})))
    for name in OPTIMIZER_CLASSES})


class TorchOptimizersMixin:
    """Optimizer methods of TorchBackend. ``OPTIMIZER_CONVENTIONS`` is what capabilities() declares (optimizer
    name -> ``OptimizerDeclaration``)."""

    #: optimizer name -> torch.optim class; a class attribute so that a subclass (a mutant) can swap one entry
    optimizer_classes: Mapping[str, type] = OPTIMIZER_CLASSES

    @property
    def OPTIMIZER_CONVENTIONS(self) -> Mapping[str, OptimizerDeclaration]:  # noqa: N802 - the mixin's contract
        """PyTorch's declaration for every optimizer; with ``optimizer_impl=fused`` only for the classes whose
        fused kernel runs on this device (asked of torch once: one step of a one-element parameter)."""
        if self.options.get("optimizer_impl") != "fused":
            return PYTORCH_DECLARATIONS
        if not hasattr(self, "_fused_names"):
            self._fused_names = [name for name, cls in self.optimizer_classes.items() if self._has_fused(cls)]
        return MappingProxyType({name: PYTORCH_DECLARATIONS[name] for name in self._fused_names})

    def _has_fused(self, cls: type) -> bool:
        if "fused" not in inspect.signature(cls).parameters:
            return False
        probe = torch.nn.Parameter(torch.zeros(1, device=self._device))
        probe.grad = torch.zeros_like(probe)
        try:  # torch checks the device at the first step (CUDA has no fused Adagrad)
            cls([probe], fused=True).step()
        except (RuntimeError, ValueError):
            return False
        return True

    def _optimizer(self, optimizer: str, hyper: Mapping[str, object], param: torch.Tensor) -> torch.optim.Optimizer:
        if optimizer not in self.optimizer_classes:
            raise UnsupportedError(f"torch: optimizer {optimizer!r}")
        cls = self.optimizer_classes[optimizer]
        impl = self.options.get("optimizer_impl", "for_loop")
        if impl not in _IMPLEMENTATIONS:
            raise ValueError(f"torch: optimizer_impl must be one of {', '.join(_IMPLEMENTATIONS)}, got {impl!r}")
        if impl == "fused" and "fused" not in inspect.signature(cls).parameters:
            raise UnsupportedError(f"torch: {cls.__name__} has no fused implementation")
        kwargs = {k: (tuple(v) if k == "betas" else v) for k, v in hyper.items()}
        return cls([param], **kwargs, **_IMPLEMENTATIONS[impl])

    def _scalar(self, value: float, param: torch.Tensor) -> torch.Tensor:
        scalar_dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
        fused = self.options.get("optimizer_impl") == "fused"
        return torch.tensor(float(value), dtype=scalar_dtype, device=param.device if fused else "cpu")

    def _load(self, optimizer: str, state: Mapping[str, object], param: torch.Tensor) -> dict[str, torch.Tensor]:
        if optimizer == "sgd":  # no step count; an absent buffer means "first step"
            buf = state.get("momentum_buffer")
            return {} if state["step"] == 0 or buf is None else {"momentum_buffer": self._owned(buf, param)}
        loaded = {}
        for name, value in state.items():
            if name in ("step", "mu_product"):
                loaded[name] = self._scalar(value, param)
            elif value is not None:
                loaded[name] = self._owned(value, param)
        return loaded

    def _owned(self, value: np.ndarray, like: torch.Tensor | str) -> torch.Tensor:
        """A tensor of its own: torch.as_tensor would share a float64 array, and the optimizers update the
        parameter, the state and (foreach Nesterov SGD) even the gradient in place."""
        dtype = like if isinstance(like, str) else str(like.dtype).removeprefix("torch.")
        return self._tensor(value, dtype).clone()

    @staticmethod
    def _read(state: Mapping[str, object]) -> dict[str, object]:
        out = {}
        for name, value in state.items():
            if name == "step":
                out[name] = int(value.item())
            elif name == "mu_product":
                out[name] = float(value.item())
            elif value is not None:
                out[name] = value.detach().to("cpu", torch.float64).numpy().copy()
        return out

    @staticmethod
    def _numpy(param: torch.Tensor) -> np.ndarray:
        return param.detach().to("cpu", torch.float64).numpy().copy()

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        p = torch.nn.Parameter(self._owned(param, dtype))
        opt = self._optimizer(optimizer, hyper, p)
        if state is not None:
            opt.state[p] = self._load(optimizer, state, p)
        p.grad = self._owned(grad, dtype)
        opt.step()
        return self._numpy(p), self._read(opt.state[p])

    def optimizer_trajectory(self, optimizer, hyper, param, grads: Sequence[np.ndarray], dtype):
        p = torch.nn.Parameter(self._owned(param, dtype))
        opt = self._optimizer(optimizer, hyper, p)
        out = []
        for grad in grads:
            p.grad = self._owned(grad, dtype)
            opt.step()
            out.append((self._numpy(p), self._read(opt.state[p])))
        return out
