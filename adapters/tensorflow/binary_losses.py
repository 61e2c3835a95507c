"""Keras's binary-loss options and its KL divergence (docs/spec/losses.md#pos-weight, #binary-label-smoothing,
#kl-divergence):

- ``label_smoothing``: ``keras.losses.BinaryCrossentropy(label_smoothing=e)`` (y (1 - e) + e / 2), on
  probabilities and with ``from_logits=True``;
- ``pos_weight``: Keras's BinaryCrossentropy has none; a Keras user writes a ``keras.losses.Loss`` whose ``call``
  is ``tf.nn.weighted_cross_entropy_with_logits`` averaged over the last axis, as Keras's own losses are, and the
  ``keras.losses.Loss`` reduction does the rest;
- ``kl_divergence_probs``: ``keras.losses.KLDivergence`` on probabilities (it clips both to [1e-7, 1] and sums
  each sample over the last axis: the conventions ``clip_probability`` and ``last_axis="sum"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.tensorflow.runtime import keras, keras_reduction, tf

__all__ = ["WeightedBinaryCrossentropy", "binary_loss", "kl_divergence", "CONVENTIONS", "OPTIONS"]



class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy on logits with a weight on the positive term, per sample the mean over the last
    axis (as keras.losses.binary_crossentropy), reduced by keras.losses.Loss."""

    def __init__(self, pos_weight, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name="weighted_binary_crossentropy", reduction=reduction, dtype=dtype)
        self.pos_weight = pos_weight

    def call(self, y_true, y_pred):
        weight = tf.constant(self.pos_weight, dtype=y_pred.dtype)
        return keras.ops.mean(tf.nn.weighted_cross_entropy_with_logits(y_true, y_pred, weight), axis=-1)


def binary_loss(from_logits: bool):
    """The callable(target, prediction, params, dtype) of BCE (on probabilities or logits) with its options."""
    def call(target, prediction, params: Mapping[str, object], dtype):
        reduction = keras_reduction(params)
        smoothing = params.get("label_smoothing", 0.0)
        if params.get("pos_weight") is not None:
            if smoothing:
                raise UnsupportedError("tensorflow: pos_weight together with label_smoothing")
            loss = WeightedBinaryCrossentropy(params["pos_weight"], reduction=reduction, dtype=dtype)
            return loss(target, prediction)
        loss = keras.losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=smoothing, reduction=reduction,
                                               dtype=dtype)
        return loss(target, prediction)
    return call


def kl_divergence(target, prediction, params: Mapping[str, object], dtype):
    """keras.losses.KLDivergence(y_true=target probabilities, y_pred=prediction probabilities)."""
    loss = keras.losses.KLDivergence(reduction=keras_reduction(params), dtype=dtype)
    return loss(target, prediction)


#: KLDivergence clips p and q to [epsilon, 1] and sums each sample over the last axis (keras/src/losses/losses.py)
CONVENTIONS = MappingProxyType({"kl_divergence_probs": MappingProxyType(
    {"clip_probability": float(keras.backend.epsilon()), "last_axis": "sum"})})
#: the options of catalogue.OPTIONS Keras implements
OPTIONS = MappingProxyType({"binary_cross_entropy": frozenset({"label_smoothing"}),
                            "binary_cross_entropy_with_logits": frozenset({"pos_weight", "label_smoothing"})})
