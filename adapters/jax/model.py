"""The one model builder of the JAX backend: the network as a pure function of its parameter pytree, as JAX users
write it. The network check (backend.py) and the training step take its ``value_and_grad``.

JAX keeps dense weights as (in, out), like nnspec: the parameters are the layers' arrays as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from nnspec.adapters.jax.tables import ACTIVATIONS, LOSSES, OPS

__all__ = ["parameters", "loss_function"]


def parameters(layers: Sequence, to_array: Callable) -> list:
    """The parameter pytree of ``layers`` (nnspec's ``Layer``s): [(weight (in, out), bias or None), ...], each
    array put on the device by ``to_array(array)``."""
    return [(to_array(layer.weight), None if layer.bias is None else to_array(layer.bias)) for layer in layers]


def loss_function(layers: Sequence, loss: str, loss_params: Mapping[str, object], dropout_masks=None):
    """(params, x, target) -> loss of the sequential network; ``dropout_masks[l]`` (scaled) multiplies
    layer l's activation output."""
    activations = [(layer.activation, dict(layer.activation_params)) for layer in layers]
    target_name = "prediction" if loss == "mean_squared_error" else "logits"

    def function(params, x, target):
        for index, ((weight, bias), (activation, act_params)) in enumerate(zip(params, activations)):
            x = ACTIVATIONS[activation](OPS["dense"]({"x": x, "weight": weight, "bias": bias}, {}), act_params)
            if dropout_masks is not None and dropout_masks[index] is not None:
                x = x * dropout_masks[index]
        return LOSSES[loss]({target_name: x, "target": target}, dict(loss_params))

    return function
