"""PyTorch's normalization layers: F.layer_norm over the last axis and F.batch_norm in training mode (batch
statistics; no running statistics are passed, so none are updated). docs/spec/normalization.md.
"""

from __future__ import annotations

from types import MappingProxyType

import torch.nn.functional as F

from nnspec.adapters.base import UnsupportedError

__all__ = ["OPS"]


def _batch_norm(t, p):
    """torch refuses a batch of one in training mode ("Expected more than 1 value per channel when training",
    torch/nn/functional.py _verify_batch_size): reported unsupported, with torch's own message."""
    try:
        return F.batch_norm(t["x"], None, None, t["weight"], t["bias"], training=True, eps=p["eps"])
    except ValueError as error:
        raise UnsupportedError(f"torch: batch_norm: {error}") from None


#: primitive -> callable(tensors, params), merged into tables.OPS
OPS = MappingProxyType({
    "layer_norm": lambda t, p: F.layer_norm(t["x"], t["x"].shape[-1:], t["weight"], t["bias"], eps=p["eps"]),
    "batch_norm": _batch_norm,
})

