"""PyTorch backend: torch.nn.functional and torch.nn modules, torch.autograd for gradients; CPU, CUDA or MPS.

Layout translation is the only transformation: nnspec keeps dense weights as (in, out), torch as (out, in).
The tables (dtypes, primitives, conventions) are in tables.py, the network in model.py, dropout and training in
training.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

try:  # first: the modules below import torch too
    import torch
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError("the torch backend needs PyTorch: pip install 'nnspec[torch]'") from error

from nnspec.adapters.base import Backend, Capabilities, NetworkResult, UnsupportedError
from nnspec.adapters.torch import model
from nnspec.adapters.torch.binary_losses import OPTIONS as BINARY_LOSS_OPTIONS
from nnspec.adapters.torch.class_losses import OPTIONS as CLASS_LOSS_OPTIONS
from nnspec.adapters.torch.clipping import TorchClippingMixin
from nnspec.adapters.torch.initializers import TorchInitializersMixin
from nnspec.adapters.torch.known_issues import KNOWN_ISSUES
from nnspec.adapters.torch.optimizers import TorchOptimizersMixin
from nnspec.adapters.torch.running_stats import TorchNormalizationMixin
from nnspec.adapters.torch.schedules import TorchSchedulesMixin
from nnspec.adapters.torch.tables import CONVENTIONS, DTYPES, LOSSES, OPS
from nnspec.adapters.torch.training import TorchTrainingMixin
from nnspec.reference import catalogue

__all__ = ["TorchBackend"]

#: More threads than any machine has cores is a mistake (100000 crashes torch): refused as an option.
_MAX_THREADS = 256


class TorchBackend(TorchOptimizersMixin, TorchTrainingMixin, TorchClippingMixin, TorchSchedulesMixin,
                   TorchInitializersMixin, TorchNormalizationMixin, Backend):
    """PyTorch through its public API. Options: ``tf32=1`` allows TF32 matmuls on CUDA (to see the suite
    reject them); ``threads=N`` sets intra-op threads (default 1: the suite runs many tiny ops)."""

    name = "torch"
    #: primitive -> callable(tensors, params); a class attribute so that a subclass can swap one entry
    ops: Mapping[str, object] = OPS
    known_issues = KNOWN_ISSUES
    option_names = MappingProxyType({"threads": "intra-op threads, 1..256 (default 1)",
                                     "tf32": "1 allows TF32 matmuls on CUDA (default 0)",
                                     "optimizer_impl": "for_loop (default), foreach or fused"})

    def __init__(self, device: str = "cpu", **options: str) -> None:
        super().__init__(device, **options)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UnsupportedError("torch: device 'cuda' requested but torch.cuda.is_available() is False")
        if device == "mps" and not torch.backends.mps.is_available():
            raise UnsupportedError("torch: device 'mps' requested but MPS is not available")
        torch.set_num_threads(self.int_option("threads", 1, 1, _MAX_THREADS))
        self.choice_option("optimizer_impl", "for_loop", ("for_loop", "foreach", "fused"))
        if self.choice_option("tf32", "0", ("0", "1")) == "1":
            torch.backends.cuda.matmul.allow_tf32 = True
        self._device = torch.device(device)

    def capabilities(self) -> Capabilities:
        dtypes = ("float64", "float32", "float16", "bfloat16") if self.device != "mps" else ("float32",)
        return Capabilities(primitives=frozenset(self.ops), dtypes=dtypes, devices=(self.device,),
                            conventions={**CONVENTIONS, **self.TRAINING_CONVENTIONS, **self.CLIPPING_CONVENTIONS,
                                         **self.SCHEDULE_CONVENTIONS, **self.INIT_CONVENTIONS,
                                         **self.NORMALIZATION_CONVENTIONS},
                            features=frozenset({"network"}) | self.TRAINING_FEATURES | self.CLIPPING_FEATURES
                            | self.SCHEDULE_FEATURES | self.INIT_FEATURES | self.NORMALIZATION_FEATURES,
                            optimizers=MappingProxyType(dict(self.OPTIMIZER_CONVENTIONS)),
                            options={**CLASS_LOSS_OPTIONS, **BINARY_LOSS_OPTIONS})

    def environment(self) -> dict[str, object]:
        cuda = self._device.type == "cuda"
        return {
            "framework": "torch",
            "version": torch.__version__,
            "device": self.device,
            "device_name": torch.cuda.get_device_name(self._device) if cuda else "cpu",
            "cuda_version": torch.version.cuda,
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "threads": torch.get_num_threads(),
            # the CPU kernels torch dispatches to (AVX2, AVX512, ...): results differ between them
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkldnn": torch.backends.mkldnn.is_available(),
        }

    def _tensor(self, value: np.ndarray, dtype: str, requires_grad: bool = False) -> torch.Tensor:
        value = np.asarray(value)
        if value.dtype.kind in "iu":
            return torch.as_tensor(value, dtype=torch.long, device=self._device)
        tensor = torch.as_tensor(value, dtype=torch.float64).to(device=self._device, dtype=DTYPES[dtype])
        return tensor.requires_grad_(requires_grad)

    def _tensors(self, primitive: str, arrays: Mapping[str, np.ndarray], dtype: str, grad: bool) -> dict:
        if dtype not in DTYPES:
            raise UnsupportedError(f"torch: dtype {dtype!r}")
        differentiable = catalogue.get(primitive).differentiable if grad else ()
        arrays = dict(arrays)
        if primitive == "dense":
            arrays["weight"] = np.asarray(arrays["weight"]).T  # nnspec (in, out) -> torch (out, in)
        return {k: self._tensor(v, dtype, k in differentiable) for k, v in arrays.items() if v is not None}

    def forward(self, primitive, arrays, params, dtype):
        if primitive not in self.ops:
            raise UnsupportedError(f"torch: primitive {primitive!r}")
        with torch.no_grad():
            out = self.ops[primitive](self._tensors(primitive, arrays, dtype, grad=False), params)
        return model.as_numpy(out)

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        if primitive not in self.ops:
            raise UnsupportedError(f"torch: primitive {primitive!r}")
        tensors = self._tensors(primitive, arrays, dtype, grad=True)
        names = [k for k in catalogue.get(primitive).differentiable if k in tensors]
        out = self.ops[primitive](tensors, params)
        grads = torch.autograd.grad(out, [tensors[k] for k in names], self._tensor(grad_output, dtype))
        result = {k: model.as_numpy(g) for k, g in zip(names, grads)}
        if primitive == "dense":
            result["weight"] = result["weight"].T  # torch (out, in) -> nnspec (in, out)
        return result

    def network(self, layers: Sequence, x, target, loss, loss_params, dtype) -> NetworkResult:
        network = model.build(layers, dtype, self._device, self._tensor)
        value = LOSSES[loss](dict(loss_params))(model.forward(network, self._tensor(x, dtype)),
                                                self._tensor(target, dtype))
        value.backward()
        linears = [linear for linear, _ in network]
        return NetworkResult(value.item(), tuple(model.as_numpy(m.weight.grad).T for m in linears),
                             tuple(None if m.bias is None else model.as_numpy(m.bias.grad) for m in linears))
