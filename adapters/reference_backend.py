"""The embedded reference as a backend: the suite's self-check, and its default when no framework is named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.adapters.base import Backend, Capabilities, NetworkResult, UnsupportedError
from nnspec.reference import catalogue, network


class ReferenceBackend(Backend):
    """Runs ``nnspec.reference`` through the adapter protocol, in the dtype under test."""

    name = "reference"

    def capabilities(self) -> Capabilities:
        return Capabilities(
            primitives=frozenset(p.name for p in catalogue.PRIMITIVES),
            dtypes=("float64", "float32", "float16"),
            devices=("cpu",),
            features=frozenset({"network"}),
        )

    def environment(self) -> dict[str, object]:
        return {"framework": "nnspec.reference", "version": np.__version__, "device_name": "numpy (cpu)"}

    def _cast(self, arrays: Mapping[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
        if self.device != "cpu":
            raise UnsupportedError(f"reference: device {self.device!r} is not available (only 'cpu')")
        return {k: (v.astype(dtype) if v is not None and np.asarray(v).dtype.kind == "f" else v)
                for k, v in arrays.items()}

    def forward(self, primitive, arrays, params, dtype):
        entry = catalogue.get(primitive)
        return entry.module.forward(**self._cast(arrays, dtype), **params)

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        entry = catalogue.get(primitive)
        grads = entry.module.backward(**self._cast(arrays, dtype), grad_output=np.asarray(grad_output, dtype=dtype),
                                      **params)
        if isinstance(grads, np.ndarray):
            return {entry.differentiable[0]: grads}
        return {name: value for name, value in grads._asdict().items() if value is not None}

    def network(self, layers: Sequence[network.Layer], x, target, loss, loss_params, dtype) -> NetworkResult:
        cast = [network.Layer(layer.weight.astype(dtype), None if layer.bias is None else layer.bias.astype(dtype),
                              layer.activation, layer.activation_params)
                for layer in layers]
        arrays = self._cast({"x": x, "target": target}, dtype)
        value, grads = network.loss_and_gradients(cast, arrays["x"], arrays["target"], loss=loss, **loss_params)
        return NetworkResult(float(value), tuple(g.weight for g in grads), tuple(g.bias for g in grads))
