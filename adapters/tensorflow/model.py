"""The one model builder of the TensorFlow backend: nnspec's dense layers as built ``keras.layers.Dense`` layers
with Keras's activations, applied in turn. The dense primitive, the network check (backend.py) and the training
step (training.py) all build their layers here.

Keras keeps dense kernels as (in, out), nnspec's layout, so there is no weight transposition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnspec.adapters.tensorflow.runtime import keras, tf
from nnspec.adapters.tensorflow.tables import ACTIVATIONS

__all__ = ["dense_layer", "build", "forward", "target_tensor"]


def dense_layer(weight: np.ndarray, bias: np.ndarray | None, dtype: str, activation=None):
    """A built keras.layers.Dense holding ``weight`` (in, out) and ``bias``."""
    layer = keras.layers.Dense(weight.shape[1], activation=activation, use_bias=bias is not None, dtype=dtype)
    layer.build((None, weight.shape[0]))
    layer.kernel.assign(weight)
    if bias is not None:
        layer.bias.assign(bias)
    return layer


def build(layers: Sequence, dtype: str) -> list:
    """One Dense layer, with its Keras activation, per layer of ``layers`` (nnspec's ``Layer``s). Call it under
    ``floatx(dtype)``."""
    return [dense_layer(layer.weight, layer.bias, dtype, ACTIVATIONS[layer.activation](dict(layer.activation_params)))
            for layer in layers]


def forward(model: Sequence, x: np.ndarray, dtype: str, masks: Sequence[np.ndarray | None] | None = None):
    """The model's output for ``x``; ``masks[l]`` (scaled, or None) multiplies layer l's output: the dropout layer
    with its mask fixed. The layers are applied in turn: a keras.Sequential here was order-dependent (after other
    Keras models in the process, its float64 input went through float32)."""
    a = tf.constant(x, dtype=dtype)
    for index, layer in enumerate(model):
        a = layer(a)
        if masks is not None and masks[index] is not None:
            a = a * tf.constant(masks[index], dtype=dtype)
    return a


def target_tensor(target: np.ndarray, dtype: str):
    """The loss's target: integer labels as int64, anything else in ``dtype``."""
    return tf.constant(target, dtype=tf.int64 if np.asarray(target).dtype.kind in "iu" else dtype)
