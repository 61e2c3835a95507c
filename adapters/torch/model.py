"""The one model builder of the torch backend: nnspec's dense layers as ``nn.Linear`` modules, each followed by
torch's activation module, called in order. The network check (backend.py) and the training step (training.py)
both build their model here.

Layout translation is the only transformation: nnspec keeps dense weights as (in, out), torch as (out, in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from nnspec.adapters.torch.tables import ACTIVATIONS, DTYPES

__all__ = ["build", "forward", "as_numpy"]


def build(layers: Sequence, dtype: str, device: torch.device,
          to_tensor: Callable[..., torch.Tensor]) -> list[tuple[nn.Linear, nn.Module]]:
    """One (``nn.Linear``, activation module) pair per layer of ``layers`` (nnspec's ``Layer``s), holding the
    layer's weight (in, out) as torch's (out, in); ``to_tensor(array, dtype)`` puts an array on the device."""
    model = []
    for layer in layers:
        linear = nn.Linear(layer.weight.shape[0], layer.weight.shape[1], bias=layer.bias is not None,
                           device=device, dtype=DTYPES[dtype])
        with torch.no_grad():
            linear.weight.copy_(to_tensor(layer.weight.T, dtype))  # (in, out) -> (out, in)
            if layer.bias is not None:
                linear.bias.copy_(to_tensor(layer.bias, dtype))
        model.append((linear, ACTIVATIONS[layer.activation](dict(layer.activation_params))))
    return model


def forward(model: Sequence[tuple[nn.Linear, nn.Module]], x: torch.Tensor,
            masks: Sequence[torch.Tensor | None] | None = None) -> torch.Tensor:
    """The model's output for ``x``; ``masks[l]`` (scaled, or None) multiplies layer l's activation output: the
    dropout layer with its mask fixed."""
    for index, (linear, activation) in enumerate(model):
        x = activation(linear(x))
        if masks is not None and masks[index] is not None:
            x = x * masks[index]
    return x


def as_numpy(tensor: torch.Tensor):
    """A float64 numpy copy of ``tensor``, on the CPU."""
    return tensor.detach().to("cpu", torch.float64).numpy()
