"""One training step, end to end: forward (with fixed dropout masks) -> loss -> backward -> optimizer step.

The random part of training is fixed by passing the dropout masks, so a step is a deterministic function of
the parameters, the batch, the masks and the optimizer state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference import catalogue, dense, network

__all__ = ["StepResult", "loss_and_gradients", "step"]

_LOSSES = tuple(catalogue.modules("loss"))


class StepResult(NamedTuple):
    """loss: the batch loss before the step; layers: the layers after it; states: per layer, the optimizer
    state of (weight, bias) (bias None for a layer without bias)."""

    loss: float
    layers: list[network.Layer]
    states: list[tuple[object, object]]


def _masks(function: str, masks, depth: int) -> list[np.ndarray | None]:
    if masks is None:
        return [None] * depth
    masks = check.sequence(function, "dropout_masks", masks)
    if len(masks) != depth:
        raise ValueError(f"{function}: dropout_masks must have one entry (array or None) per layer ({depth}), "
                         f"got {len(masks)}")
    return [None if m is None else check.float_array(function, f"dropout_masks[{i}]", m) for i, m in enumerate(masks)]


def loss_and_gradients(layers: Sequence[network.Layer], x: np.ndarray, target: np.ndarray, *,
                       loss: str = "mean_squared_error", loss_params: Mapping[str, object] | None = None,
                       dropout_masks: Sequence[np.ndarray | None] | None = None) -> tuple[float, list]:
    """The loss of a network with dropout masks fixed, and the gradient of every layer's weight and bias.

    Spec: docs/spec/training.md#step

    Math:
        a_0 = x
        z_l = a_(l-1) @ weight_l + bias_l;  a_l = activation_l(z_l) * mask_l     (mask_l: 0 or 1/(1-p); None: 1)
        loss_value = loss(a_L, target)
        grad = dloss/da_L
        for l = L .. 1:  grad_z = activation_l'(z_l)^T (grad * mask_l);  grads_l, grad = dense VJP(grad_z)

    Raises:
        TypeError, ValueError: as ``network.forward`` and the loss; for loss_params that is not a dict or None,
            dropout_masks that is not a list or tuple, a mask count other than one per layer, or a mask whose
            shape is not its layer's output shape.

    Example (a mask of 2 doubles the only unit: loss (2 * 1 - 3)^2 = 1, dloss/dweight = 2 * (-1) * 2 * 1):
        >>> layers = [network.Layer(np.array([[1.0]]), None)]
        >>> value, grads = loss_and_gradients(layers, np.array([[1.0]]), np.array([[3.0]]),
        ...                                   dropout_masks=[np.array([[2.0]])])
        >>> value, grads[0].weight.tolist()
        (1.0, [[-4.0]])
    """
    function = "training.loss_and_gradients"
    check.choice(function, "loss", loss, _LOSSES)
    network._check_layers(function, layers, None)
    loss_params = check.mapping(function, "loss_params", loss_params)
    masks = _masks(function, dropout_masks, len(layers))
    network.forward_with_cache(layers, x)  # validates the layers and x as the network does
    a, tape = np.asarray(x), []
    for layer, mask in zip(layers, masks):
        z = dense.forward(a, layer.weight, layer.bias)
        h = catalogue.get(layer.activation).module.forward(z, **layer.activation_params)
        if mask is not None:
            check.same_shape(function, "dropout mask", mask, "its layer's output", h)
        tape.append((a, z, mask))
        a = h if mask is None else h * mask
    module = catalogue.get(loss).module
    value = module.forward(a, target, **loss_params)
    grad = module.backward(a, target, **loss_params)
    grads = []
    for layer, (a_in, z, mask) in zip(reversed(layers), reversed(tape)):
        grad_h = grad if mask is None else grad * mask
        grad_z = catalogue.get(layer.activation).module.backward(z, grad_h, **layer.activation_params)
        layer_grads = dense.backward(a_in, layer.weight, layer.bias, grad_z)
        grads.insert(0, layer_grads)
        grad = layer_grads.x
    return float(value), grads


def step(layers: Sequence[network.Layer], x: np.ndarray, target: np.ndarray, *, loss: str = "mean_squared_error",
         loss_params: Mapping[str, object] | None = None, optimizer: str = "sgd",
         hyper: Mapping[str, object] | None = None, states: Sequence[tuple[object, object]] | None = None,
         dropout_masks: Sequence[np.ndarray | None] | None = None) -> StepResult:
    """One training step: loss and gradients (``loss_and_gradients``), then one optimizer step per tensor.

    Spec: docs/spec/training.md#step

    Math:
        loss_value, grads = loss_and_gradients(layers, x, target, loss, loss_params, dropout_masks)
        for each layer l and tensor t in (weight, bias):
            state = optimizer.init(t, **hyper)            (when states is None: a fresh optimizer)
            t, state = optimizer.step(t, grads_l.t, state, **hyper)

    Args:
        optimizer: an optimizer of the catalogue (``catalogue.optimizers()``). hyper: its keyword arguments (lr,
            momentum, conventions...). states: per layer the (weight, bias) states of a previous step, or None.

    Raises:
        TypeError: if hyper is not a dict or None, or states not a list or tuple.
        ValueError: for an unknown optimizer, states of the wrong length, and as ``loss_and_gradients`` and
            the optimizer.

    Example (SGD, lr 0.25: weight 1 - 0.25 * (-4) = 2):
        >>> result = step([network.Layer(np.array([[1.0]]), None)], np.array([[1.0]]), np.array([[3.0]]),
        ...               hyper={"lr": 0.25}, dropout_masks=[np.array([[2.0]])])
        >>> result.loss, result.layers[0].weight.tolist()
        (1.0, [[2.0]])
    """
    function = "training.step"
    check.choice(function, "optimizer", optimizer, catalogue.optimizers())
    network._check_layers(function, layers, None)
    module, hyper = catalogue.optimizer(optimizer).module, check.mapping(function, "hyper", hyper)
    states = None if states is None else check.sequence(function, "states", states)
    if states is not None and len(states) != len(layers):
        raise ValueError(f"{function}: states must have one (weight, bias) pair per layer ({len(layers)}), "
                         f"got {len(states)}")
    value, grads = loss_and_gradients(layers, x, target, loss=loss, loss_params=loss_params,
                                      dropout_masks=dropout_masks)
    new_layers, new_states = [], []
    for index, (layer, layer_grads) in enumerate(zip(layers, grads)):
        pair = []
        for name, param, grad in (("weight", layer.weight, layer_grads.weight), ("bias", layer.bias, layer_grads.bias)):
            if param is None:
                pair.append((None, None))
                continue
            state = module.init(param, **hyper) if states is None else states[index][name == "bias"]
            pair.append(module.step(param, grad, state, **hyper))
        (weight, weight_state), (bias, bias_state) = pair
        new_layers.append(network.Layer(weight, bias, layer.activation, layer.activation_params))
        new_states.append((weight_state, bias_state))
    return StepResult(value, new_layers, new_states)
