"""Keras 3's normalization layers: LayerNormalization(axis=-1) and BatchNormalization called with training=True
(batch statistics over axis 0), each built and holding the drawn gamma (nnspec's weight) and beta (bias).
docs/spec/normalization.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from nnspec.adapters.tensorflow.runtime import as_numpy, floatx, keras, tf

__all__ = ["PRIMITIVES", "run", "KerasNormalizationMixin"]

PRIMITIVES = frozenset({"layer_norm", "batch_norm"})


def _layer(primitive: str, features: int, eps: float, dtype: str):
    if primitive == "layer_norm":
        layer = keras.layers.LayerNormalization(axis=-1, epsilon=eps, dtype=dtype)
    else:
        layer = keras.layers.BatchNormalization(axis=-1, epsilon=eps, dtype=dtype)
    layer.build((None, features))
    return layer


def run(primitive: str, tensors: Mapping, params: Mapping[str, object], dtype: str):
    """The output, and the tensor or variable standing for x, weight and bias (for the gradient tape)."""
    x = tensors["x"]
    layer = _layer(primitive, x.shape[-1], params["eps"], dtype)
    layer.gamma.assign(tensors["weight"])
    layer.beta.assign(tensors["bias"])
    out = layer(x, training=True) if primitive == "batch_norm" else layer(x)
    return out, {"x": x, "weight": layer.gamma, "bias": layer.beta}


class KerasNormalizationMixin:
    """``batch_norm_running_stats`` with one ``keras.layers.BatchNormalization``: Keras's momentum weights the
    old moving value, and its moving variance averages the biased batch variance it normalizes with
    (keras/src/layers/normalization/batch_normalization.py, ``moving_variance * momentum + variance *
    (1.0 - momentum)``, the variance from ``ops.moments``)."""

    NORMALIZATION_FEATURES = frozenset({"batch_norm_running_stats"})
    NORMALIZATION_CONVENTIONS = MappingProxyType({"batch_norm_running_stats": MappingProxyType(
        {"momentum_weights": "old", "running_variance": "biased"})})

    def batch_norm_running_stats(self, batches, momentum, x, weight, bias, eps, dtype):
        with floatx(dtype):
            layer = keras.layers.BatchNormalization(axis=-1, momentum=momentum, epsilon=eps, dtype=dtype)
            layer.build((None, len(weight)))
            layer.gamma.assign(weight)
            layer.beta.assign(bias)
            for batch in batches:
                layer(tf.constant(batch, dtype=dtype), training=True)
            y = layer(tf.constant(x, dtype=dtype), training=False)
            return as_numpy(layer.moving_mean), as_numpy(layer.moving_variance), as_numpy(y)
