"""PyTorch backend: torch.nn.functional and torch.nn modules, torch.autograd for gradients; CPU, CUDA or MPS.

Layout translation is the only transformation: nnspec keeps dense weights as (in, out), torch as (out, in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import Backend, Capabilities, NetworkResult, UnsupportedError
from nnspec.adapters.torch_known_issues import KNOWN_ISSUES
from nnspec.adapters.torch_optimizers import TorchOptimizersMixin
from nnspec.adapters.torch_training import TorchTrainingMixin
from nnspec.reference import catalogue

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError("the torch backend needs PyTorch: pip install 'nnspec[torch]'") from error

_DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
           "bfloat16": torch.bfloat16}

_OPS = {
    "identity": lambda t, p: nn.Identity()(t["x"]),
    "sigmoid": lambda t, p: torch.sigmoid(t["x"]),
    "tanh": lambda t, p: torch.tanh(t["x"]),
    "relu": lambda t, p: F.relu(t["x"]),
    "leaky_relu": lambda t, p: F.leaky_relu(t["x"], negative_slope=p.get("negative_slope", 0.01)),
    "softplus": lambda t, p: F.softplus(t["x"]),
    "gelu": lambda t, p: F.gelu(t["x"], approximate=p["approximate"]),
    "gelu_tanh": lambda t, p: F.gelu(t["x"], approximate=p["approximate"]),
    "softmax": lambda t, p: F.softmax(t["x"], dim=p.get("axis", -1)),
    "log_softmax": lambda t, p: F.log_softmax(t["x"], dim=p.get("axis", -1)),
    "mean_squared_error": lambda t, p: F.mse_loss(t["prediction"], t["target"], reduction=p.get("reduction", "mean")),
    "binary_cross_entropy": lambda t, p: F.binary_cross_entropy(
        t["probability"], t["target"], reduction=p.get("reduction", "mean")),
    "binary_cross_entropy_with_logits": lambda t, p: F.binary_cross_entropy_with_logits(
        t["logits"], t["target"], reduction=p.get("reduction", "mean")),
    "softmax_cross_entropy": lambda t, p: F.cross_entropy(
        t["logits"], t["target"], reduction=p.get("reduction", "mean"), label_smoothing=p.get("label_smoothing", 0.0)),
    "softmax_cross_entropy_probs": lambda t, p: F.cross_entropy(
        t["logits"], t["target"], reduction=p.get("reduction", "mean"), label_smoothing=p.get("label_smoothing", 0.0)),
    "dense": lambda t, p: F.linear(t["x"], t["weight"], t.get("bias")),  # weight arrives as (out, in)
}

_ACTIVATIONS = {
    "identity": lambda p: nn.Identity(),
    "sigmoid": lambda p: nn.Sigmoid(),
    "tanh": lambda p: nn.Tanh(),
    "relu": lambda p: nn.ReLU(),
    "leaky_relu": lambda p: nn.LeakyReLU(p.get("negative_slope", 0.01)),
    "softplus": lambda p: nn.Softplus(),
    "gelu": lambda p: nn.GELU(approximate=p.get("approximate", "none")),
    "softmax": lambda p: nn.Softmax(dim=-1),
    "log_softmax": lambda p: nn.LogSoftmax(dim=-1),
}

_LOSSES = {
    "mean_squared_error": lambda p: nn.MSELoss(reduction=p.get("reduction", "mean")),
    "binary_cross_entropy": lambda p: nn.BCELoss(reduction=p.get("reduction", "mean")),
    "binary_cross_entropy_with_logits": lambda p: nn.BCEWithLogitsLoss(reduction=p.get("reduction", "mean")),
    "softmax_cross_entropy": lambda p: nn.CrossEntropyLoss(
        reduction=p.get("reduction", "mean"), label_smoothing=p.get("label_smoothing", 0.0)),
}

#: The named spec variants PyTorch follows (docs/spec/activations.md#softplus, docs/spec/losses.md).
CONVENTIONS = MappingProxyType({
    "softplus": {"threshold": 20.0},
    # at x = NaN threshold_backward tests x <= 0 (false: passes the gradient), leaky_relu_backward x > 0 (false:
    # the slope) (docs/spec/conventions.md#nan-propagation)
    "relu": {"nan_derivative": "positive"},
    "leaky_relu": {"nan_derivative": "negative"},
    # torch clamps each log at -100, and floors the backward's p(1-p) at EPSILON = 1e-12 held as a C++ float,
    # i.e. float32(1e-12) = 9.999999960041972e-13 also in float64 (aten/src/ATen/native/Loss.cpp).
    "binary_cross_entropy": {"log_floor": -100.0, "denominator_floor": float(np.float32(1e-12))},
})


#: One ``nn.Dropout`` module called n times on the device's default generator (docs/spec/dropout.md#stream).
_STREAM_FEATURES = frozenset({"dropout_stream", "dropout_stream_unseeded", "dropout_training_stream"})


#: More threads than any machine has cores is a mistake (100000 crashes torch): refused as an option.
_MAX_THREADS = 256


class TorchBackend(TorchOptimizersMixin, TorchTrainingMixin, Backend):
    """PyTorch through its public API. Options: ``tf32=1`` allows TF32 matmuls on CUDA (to see the suite
    reject them); ``threads=N`` sets intra-op threads (default 1: the suite runs many tiny ops)."""

    name = "torch"
    #: primitive -> callable(tensors, params); a class attribute so that a subclass can swap one entry
    ops: Mapping[str, object] = MappingProxyType(_OPS)
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
                            conventions={**CONVENTIONS, **self.TRAINING_CONVENTIONS},
                            features=frozenset({"network"}) | self.TRAINING_FEATURES | _STREAM_FEATURES,
                            optimizers=MappingProxyType(dict(self.OPTIMIZER_CONVENTIONS)))

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
        tensor = torch.as_tensor(value, dtype=torch.float64).to(device=self._device, dtype=_DTYPES[dtype])
        return tensor.requires_grad_(requires_grad)

    def _tensors(self, primitive: str, arrays: Mapping[str, np.ndarray], dtype: str, grad: bool) -> dict:
        if dtype not in _DTYPES:
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
        return out.detach().to("cpu", torch.float64).numpy()

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        if primitive not in self.ops:
            raise UnsupportedError(f"torch: primitive {primitive!r}")
        tensors = self._tensors(primitive, arrays, dtype, grad=True)
        names = [k for k in catalogue.get(primitive).differentiable if k in tensors]
        out = self.ops[primitive](tensors, params)
        grads = torch.autograd.grad(out, [tensors[k] for k in names], self._tensor(grad_output, dtype))
        result = {k: g.detach().to("cpu", torch.float64).numpy() for k, g in zip(names, grads)}
        if primitive == "dense":
            result["weight"] = result["weight"].T  # torch (out, in) -> nnspec (in, out)
        return result

    def network(self, layers: Sequence, x, target, loss, loss_params, dtype) -> NetworkResult:
        modules = []
        for layer in layers:
            linear = nn.Linear(layer.weight.shape[0], layer.weight.shape[1], bias=layer.bias is not None,
                               device=self._device, dtype=_DTYPES[dtype])
            with torch.no_grad():
                linear.weight.copy_(self._tensor(layer.weight.T, dtype))  # (in, out) -> (out, in)
                if layer.bias is not None:
                    linear.bias.copy_(self._tensor(layer.bias, dtype))
            modules += [linear, _ACTIVATIONS[layer.activation](dict(layer.activation_params))]
        model = nn.Sequential(*modules)
        value = _LOSSES[loss](dict(loss_params))(model(self._tensor(x, dtype)), self._tensor(target, dtype))
        value.backward()
        linears = [m for m in model if isinstance(m, nn.Linear)]
        as_numpy = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
        return NetworkResult(value.item(), tuple(as_numpy(m.weight.grad).T for m in linears),
                             tuple(None if m.bias is None else as_numpy(m.bias.grad) for m in linears))

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        """ONE ``nn.Dropout(p)`` module in training mode called n_calls times, drawing from the device's default
        generator, seeded once with ``torch.manual_seed(seed)`` (left as it is for None) inside
        ``torch.random.fork_rng`` so that the caller's state is untouched. There is no ``torch.Generator`` variant:
        neither ``nn.Dropout`` nor ``F.dropout`` takes a generator (only the private ``torch._fused_dropout``
        does), and ``torch.bernoulli(generator=...)`` times a scale would be the adapter's dropout, not torch's."""
        module, tensor = self.dropout_module(p).train(True), self._tensor(x, dtype)
        with torch.random.fork_rng(devices=[self._device] if self._device.type == "cuda" else []), torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            return [module(tensor).to("cpu", torch.float64).numpy() for _ in range(n_calls)]

    @staticmethod
    def dropout_module(p: float) -> nn.Module:
        """The ``nn.Dropout(p)`` module of the stream checks."""
        return nn.Dropout(p)

    def dropout_training_stream(self, x, p, n_steps, seed, dtype):
        """``nn.Sequential(nn.Dropout(p), nn.Linear)`` trained by the usual loop (zero_grad, MSE loss, backward,
        ``SGD(lr=0).step()``) for n_steps on the batch x, the dropout's output taken by a forward hook; the
        default generator is seeded once (``torch.manual_seed``) inside ``fork_rng``."""
        tensor = self._tensor(x, dtype)
        features = tensor.shape[-1]
        dense = nn.Linear(features, features, device=self._device, dtype=tensor.dtype)
        with torch.no_grad():
            dense.weight.copy_(torch.eye(features, dtype=tensor.dtype))
            dense.bias.zero_()
        model, outputs = nn.Sequential(self.dropout_module(p), dense).train(True), []
        hook = model[0].register_forward_hook(
            lambda module, inputs, output: outputs.append(output.detach().to("cpu", torch.float64).numpy()))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        try:
            with torch.random.fork_rng(devices=[self._device] if self._device.type == "cuda" else []):
                if seed is not None:
                    torch.manual_seed(seed)
                for _ in range(n_steps):
                    optimizer.zero_grad()
                    prediction = model(tensor)
                    torch.nn.functional.mse_loss(prediction, torch.zeros_like(prediction)).backward()
                    optimizer.step()
        finally:
            hook.remove()
        return outputs
