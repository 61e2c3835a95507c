"""A sequential network of dense layers and activations, and backpropagation written as the chain rule."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference import catalogue, dense

__all__ = ["Layer", "LayerCache", "backward", "forward", "forward_with_cache", "init", "loss_and_gradients"]

# Every elementwise activation, and the row-wise softmax and log_softmax (over the last, features axis).
_ACTIVATIONS = catalogue.modules("elementwise", "rowwise")
_LOSSES = catalogue.modules("loss")


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer, y = activation(x @ weight + bias): weight (in, out), bias (out,) or None, activation name.

    Spec: docs/spec/backpropagation.md#network. ``eq=False``: layers holding arrays compare by identity.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    activation: str = "identity"
    activation_params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


class LayerCache(NamedTuple):
    """What the backward pass needs of one layer: its input x and its pre-activation z = x @ weight + bias."""

    x: np.ndarray
    z: np.ndarray


def _check_layers(function: str, layers: Sequence[Layer], in_features: int | None) -> None:
    """Check each layer, and that each weight's first dimension is the width that flows into it (if known)."""
    if not isinstance(layers, Sequence) or len(layers) == 0:
        got = f"length {len(layers)}" if isinstance(layers, Sequence) else type(layers).__name__
        raise ValueError(f"{function}: layers must be a non-empty sequence of network.Layer, got {got}")
    for index, layer in enumerate(layers):
        name = f"layers[{index}]"
        if not isinstance(layer, Layer):
            raise TypeError(f"{function}: {name} must be a network.Layer, got {type(layer).__name__}")
        weight = check.float_array(function, f"{name}.weight", layer.weight)
        check.check_shape(function, f"{name}.weight", weight, (in_features, None))
        if layer.bias is not None:
            bias = check.float_array(function, f"{name}.bias", layer.bias)
            check.check_shape(function, f"{name}.bias", bias, (weight.shape[1],))
        check.choice(function, f"{name}.activation", layer.activation, tuple(_ACTIVATIONS))
        if not isinstance(layer.activation_params, Mapping):
            raise TypeError(f"{function}: {name}.activation_params must be a mapping, "
                            f"got {type(layer.activation_params).__name__}")
        if "axis" in layer.activation_params:
            raise ValueError(f"{function}: {name}.activation_params must not set 'axis' (softmax acts on "
                             f"the last, features axis), got {dict(layer.activation_params)}")
        in_features = weight.shape[1]


def _forward_with_cache(function: str, layers: Sequence[Layer],
                        x: object) -> tuple[np.ndarray, tuple[LayerCache, ...]]:
    x = check.float_array(function, "x", x)
    if x.ndim not in (1, 2):
        raise ValueError(f"{function}: x must have shape (in_features,) or (N, in_features), got {x.shape}")
    _check_layers(function, layers, x.shape[-1])
    cache = []
    a = x
    for layer in layers:
        z = dense.forward(a, layer.weight, layer.bias)
        cache.append(LayerCache(x=a, z=z))
        a = _ACTIVATIONS[layer.activation].forward(z, **layer.activation_params)
    return a, tuple(cache)


def forward_with_cache(layers: Sequence[Layer], x: np.ndarray) -> tuple[np.ndarray, tuple[LayerCache, ...]]:
    """Run the network on x and keep, per layer, the input and pre-activation that ``backward`` needs.

    Spec: docs/spec/backpropagation.md#network

    Math:
        a_0 = x
        z_l = a_(l-1) @ weight_l + bias_l          for l = 1 .. L, in order
        a_l = activation_l(z_l)
        output = a_L;  cache[l - 1] = (a_(l-1), z_l)

    Raises:
        TypeError: if x, a weight or a bias is not a real floating-point array, or a layer is not a Layer.
        ValueError: if ``layers`` is empty, a shape does not chain, or an activation name is unknown.

    Example:
        >>> layers = [Layer(np.array([[2.0]]), np.array([-1.0]), "relu")]
        >>> output, cache = forward_with_cache(layers, np.array([1.0]))
        >>> output, cache[0].z
        (array([1.]), array([1.]))
    """
    return _forward_with_cache("network.forward_with_cache", layers, x)


def forward(layers: Sequence[Layer], x: np.ndarray) -> np.ndarray:
    """Run the network on x (shape (N, in_features) or (in_features,)); see ``forward_with_cache``.

    Spec: docs/spec/backpropagation.md#network

    Example:
        >>> forward([Layer(np.array([[1.0, -1.0]]), None, "relu")], np.array([[3.0]]))
        array([[3., 0.]])
    """
    return _forward_with_cache("network.forward", layers, x)[0]


def backward(layers: Sequence[Layer], cache: Sequence[LayerCache],
             grad_output: np.ndarray) -> tuple[np.ndarray, list[dense.DenseGrads]]:
    """Backpropagation: apply the chain rule layer by layer, from the output back to the input.

    Spec: docs/spec/backpropagation.md#chain-rule

    Math:
        grad_a = grad_output                                       dL/da_L
        for l = L .. 1:
            grad_z = activation_l'(z_l)^T grad_a                     dL/dz_l, the activation's VJP
            grad_x, grad_weight_l, grad_bias_l = dense VJP(grad_z)   dL/da_(l-1), dL/dweight_l, dL/dbias_l
            grad_a = grad_x

    Returns:
        ``(grad_x, grads)``: the gradient with respect to the network's input, and one ``DenseGrads`` per
        layer, in the order of ``layers``.

    Raises:
        TypeError, ValueError: as ``forward_with_cache``, and if the cache does not have one entry per layer
        or ``grad_output`` does not have the output's shape.

    Example (y = 2 x + 1 at x = 3, dL/dy = 1):
        >>> layers = [Layer(np.array([[2.0]]), np.array([1.0]))]
        >>> _, cache = forward_with_cache(layers, np.array([[3.0]]))
        >>> grad_x, (grads,) = backward(layers, cache, np.array([[1.0]]))
        >>> grad_x.tolist(), grads.weight.tolist(), grads.bias.tolist()
        ([[2.0]], [[3.0]], [1.0])
    """
    function = "network.backward"
    _check_layers(function, layers, None)
    if not isinstance(cache, Sequence) or not all(isinstance(entry, LayerCache) for entry in cache):
        raise TypeError(f"{function}: cache must be the sequence of LayerCache from forward_with_cache")
    if len(cache) != len(layers):
        raise ValueError(f"{function}: cache must have one entry per layer ({len(layers)}), got {len(cache)}")
    grad_output = check.float_array(function, "grad_output", grad_output)
    check.check_shape(function, "grad_output", grad_output, cache[-1].z.shape)
    grad_a = grad_output
    grads: list[dense.DenseGrads] = []
    for layer, (x, z) in zip(reversed(layers), reversed(cache)):
        grad_z = _ACTIVATIONS[layer.activation].backward(z, grad_a, **layer.activation_params)  # dL/dz
        layer_grads = dense.backward(x, layer.weight, layer.bias, grad_z)  # dL/dx, dL/dweight, dL/dbias
        grads.insert(0, layer_grads)
        grad_a = layer_grads.x  # this layer's input is the previous layer's output
    return grad_a, grads


def loss_and_gradients(layers: Sequence[Layer], x: np.ndarray, target: np.ndarray,
                       loss: str = "mean_squared_error",
                       **loss_params: object) -> tuple[float, list[dense.DenseGrads]]:
    """The loss of the network on (x, target), and its gradient for every layer's weight and bias.

    Spec: docs/spec/backpropagation.md#mini-example

    Math:
        output, cache = forward_with_cache(layers, x)
        loss_value = loss(output, target)
        grad_output = dloss/doutput
        grads = backward(layers, cache, grad_output)

    Args:
        loss: a module of nnspec.reference.losses; **loss_params are its keyword arguments, whose
            ``reduction`` must be "mean" or "sum" (the loss must be a scalar).

    Raises:
        ValueError: for an unknown loss name or reduction, and as ``forward_with_cache`` and the loss.

    Example (the worked example of the spec page; hand-checkable):
        >>> layers = [Layer(np.array([[1.0, -1.0], [0.0, 1.0]]), np.array([0.5, -2.0]), "relu"),
        ...           Layer(np.array([[2.0], [-1.0]]), np.array([0.5]))]
        >>> loss_value, grads = loss_and_gradients(layers, np.array([[1.0, 2.0]]), np.array([[3.0]]))
        >>> loss_value, grads[1].weight.tolist(), grads[0].weight.tolist(), grads[0].bias.tolist()
        (0.25, [[1.5], [0.0]], [[2.0, 0.0], [4.0, 0.0]], [2.0, 0.0])
    """
    function = "network.loss_and_gradients"
    check.choice(function, "loss", loss, tuple(_LOSSES))
    check.choice(function, "reduction", loss_params.get("reduction", "mean"), ("mean", "sum"))
    output, cache = _forward_with_cache(function, layers, x)
    loss_value = _LOSSES[loss].forward(output, target, **loss_params)
    grad_output = _LOSSES[loss].backward(output, target, **loss_params)
    _, grads = backward(layers, cache, grad_output)
    return float(loss_value), grads


def init(sizes: Sequence[int], activations: Sequence[str], rng: np.random.Generator,
         dtype: type | np.dtype = np.float64) -> list[Layer]:
    """Layers of widths ``sizes``, weights and biases drawn from U(-1/sqrt(in), 1/sqrt(in)) as torch's Linear.

    Spec: docs/spec/perceptron-and-dense.md#layouts

    Math:
        bound = 1 / sqrt(in_features)                 for each (in_features, out_features) in sizes
        weight = rng.uniform(-bound, bound, (in_features, out_features))      drawn first
        bias = rng.uniform(-bound, bound, (out_features,))                    then the bias

    Raises:
        TypeError: if rng is not a numpy Generator, dtype is not a real floating-point dtype, or sizes or
            activations is not a list or tuple.
        ValueError: if sizes are not at least 2 ints >= 1, an activation is unknown, or
            len(activations) != len(sizes) - 1.

    Example:
        >>> layers = init([3, 4, 2], ["tanh", "identity"], np.random.default_rng(0))
        >>> [layer.weight.shape for layer in layers], bool(np.all(np.abs(layers[0].weight) <= 3 ** -0.5))
        ([(3, 4), (4, 2)], True)
    """
    function = "network.init"
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{function}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    dtype = check.float_dtype(function, "dtype", dtype)
    sizes = check.sequence(function, "sizes", sizes)
    activations = check.sequence(function, "activations", activations)
    valid = all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in sizes)
    if len(sizes) < 2 or not valid:
        raise ValueError(f"{function}: sizes must be at least 2 integers >= 1, got {list(sizes)}")
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"{function}: activations must have len(sizes) - 1 = {len(sizes) - 1} names, "
                         f"got {len(activations)}")
    layers = []
    for index, (in_features, out_features) in enumerate(itertools.pairwise(sizes)):
        activation = check.choice(function, f"activations[{index}]", activations[index], tuple(_ACTIVATIONS))
        bound = 1.0 / np.sqrt(in_features)
        weight = rng.uniform(-bound, bound, size=(in_features, out_features))
        bias = rng.uniform(-bound, bound, size=(out_features,))
        layers.append(Layer(weight.astype(dtype), bias.astype(dtype), activation))
    return layers
