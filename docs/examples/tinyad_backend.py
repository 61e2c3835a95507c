"""The nnspec adapter of tinyad (docs/tutorial-your-framework.md): started from `nnspec new-backend tinyad`, then
the numpy stand-ins replaced by tinyad's own calls. No math here beyond handing arrays over and back.

Run from this folder: nnspec run --backend tinyad_backend:TinyadBackend
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
from tinyad import tinyad

from nnspec.adapters.base import Backend, Capabilities, KnownIssue, UnsupportedError

ACTIVATIONS = {"relu": tinyad.relu, "sigmoid": tinyad.sigmoid, "tanh": tinyad.tanh, "softplus": tinyad.softplus}


def _softplus_textbook(arrays, params, dtype):
    """tinyad 0.1's softplus is log(1 + exp(x)): for x < 0 the sum 1 + exp(x) drops the digits of exp(x) (3.4x the
    float32 budget at x = -4, 0 instead of 2e-9 at x = -20), and for x > log(max) exp overflows (inf; spec: x).
    Its gradient 1 / (1 + exp(-x)) is right. Reported to tinyad; fixed by log(1 + exp(x)) = logaddexp(0, x)."""
    x = np.asarray(arrays["x"])
    return (x < 0) | (x > np.log(np.finfo(dtype).max))


class TinyadBackend(Backend):
    """tinyad through its public API: Tensor, its operators, relu/sigmoid/tanh/softplus, sum and mean."""

    name = "tinyad"
    option_names = MappingProxyType({})
    known_issues = (
        KnownIssue("tinyad-softplus-textbook", "softplus", "forward", _softplus_textbook,
                   "softplus is log(1 + exp(x)): inaccurate for x < 0, inf for x > log(max)",
                   "docs/tutorial-your-framework.md#read-the-red-cells"),
    )

    def capabilities(self) -> Capabilities:
        return Capabilities(primitives=frozenset({*ACTIVATIONS, "dense", "mean_squared_error"}),
                            dtypes=("float64", "float32"), devices=("cpu",),
                            # tinyad's relu gradient is g * (x > 0): 0 at x = NaN (docs/spec/conventions.md)
                            conventions={"relu": {"nan_derivative": "negative"}})

    def environment(self) -> dict[str, object]:
        return {"framework": "tinyad", "version": "0.1", "device_name": "numpy (cpu)"}

    def _run(self, primitive, tensors, params):
        if primitive in ACTIVATIONS:
            return ACTIVATIONS[primitive](tensors["x"])
        if primitive == "dense":  # bias may be None: a layer without one
            product = tensors["x"] @ tensors["weight"]
            return product if tensors.get("bias") is None else product + tensors["bias"]
        if primitive == "mean_squared_error":
            difference = tensors["prediction"] - tensors["target"]
            squared = difference * difference
            reduction = params.get("reduction", "mean")
            if reduction == "none":
                return squared
            return squared.mean() if reduction == "mean" else squared.sum()
        raise UnsupportedError(f"tinyad: primitive {primitive!r}")

    def forward(self, primitive, arrays, params, dtype):
        with np.errstate(all="ignore"):  # tinyad's formulas overflow where the suite probes them
            return self._run(primitive, self._tensors(arrays, dtype), params).data

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        with np.errstate(all="ignore"):
            tensors = self._tensors(arrays, dtype)
            self._run(primitive, tensors, params).backward(np.asarray(grad_output, dtype=dtype))
            return {name: tensor.grad for name, tensor in tensors.items() if tensor is not None and name != "target"}

    @staticmethod
    def _tensors(arrays, dtype):
        """nnspec's float64 arrays (exact in dtype) as tinyad tensors of dtype; None (no bias) stays None."""
        return {name: None if value is None else tinyad.Tensor(value, dtype) for name, value in arrays.items()}
