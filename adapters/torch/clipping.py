"""Gradient clipping for the torch backend: ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_`` on the
``.grad`` of parameters, as a training loop calls them between ``backward()`` and ``optimizer.step()``.

torch has no per-tensor norm clipping: a loop that wants it calls ``clip_grad_norm_`` on each parameter alone, and
so does the adapter. ``error_if_nonfinite`` keeps its default (False), what training loops run with.
docs/spec/gradient-clipping.md
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import torch

from nnspec.adapters.torch import model

__all__ = ["TorchClippingMixin"]


class TorchClippingMixin:
    """``clip_gradients`` of TorchBackend (which provides ``_tensor``)."""

    CLIPPING_FEATURES: frozenset = frozenset({"gradient_clipping"})
    #: torch/nn/utils/clip_grad.py: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1; an infinite norm
    #: gives coefficient 0, a NaN norm NaN (torch.clamp propagates NaN): the reference's defaults, named here
    CLIPPING_CONVENTIONS = MappingProxyType({"gradient_clipping": MappingProxyType(
        {"eps": 1e-6, "nonfinite_global_norm": "scale"})})

    def clip_gradients(self, mode, grads, hyper, dtype):
        params = []
        for grad in grads:
            param = self._tensor(np.zeros(np.shape(grad)), dtype, requires_grad=True)
            param.grad = self._tensor(np.array(grad), dtype)  # a copy: clipping is in place, never on the suite's array
            params.append(param)
        if mode == "value":
            torch.nn.utils.clip_grad_value_(params, hyper["clip_value"])
        else:
            groups = [params] if mode == "global_norm" else [[p] for p in params]
            for group in groups:
                torch.nn.utils.clip_grad_norm_(group, hyper["max_norm"], norm_type=hyper.get("norm_type", 2.0))
        return [model.as_numpy(p.grad) for p in params]
