"""Keras's softmax cross-entropy with its options: ``SparseCategoricalCrossentropy(from_logits=True,
ignore_class=...)`` for labels, ``CategoricalCrossentropy(from_logits=True, label_smoothing=...)`` for
probabilities and for smoothed labels (one-hot first: SparseCategoricalCrossentropy has no label smoothing).
Classes are on the last axis in Keras, so logits of shape (N, C, d1, ...) get their class axis moved last
(layout translation, reversed by the gradient tape).

Class weights are what Keras has for them: sample weights, ``sample_weight = weight[label]`` (``class_weight=`` of
``Model.fit`` makes the same). So a weight scales its example's whole smoothed loss ("per_example"), and the
default reduction ``sum_over_batch_size`` divides by the number of kept examples, not by their weights
("kept_count"); keras/src/losses/loss.py ``apply_mask`` and ``reduce_values``
(docs/spec/losses.md#class-weights-and-ignore-index). Not declared: ``ignore_class`` together with label smoothing
(CategoricalCrossentropy has no ``ignore_class``), class weights of probability targets (a sample weight cannot
weight each class's term), and NLL (Keras has no public loss on log-probabilities).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from types import MappingProxyType

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.tensorflow.runtime import keras, keras_reduction

__all__ = ["LOSSES", "OPTIONS", "CONVENTIONS"]



def _sample_weight(target, params: Mapping[str, object], dtype):
    """weight[label] per example (0's label for an ignored example: ignore_class masks it), or None."""
    if params.get("weight") is None:
        return None
    labels = target if params.get("ignore_index") is None else keras.ops.where(
        target == params["ignore_index"], 0, target)
    return keras.ops.take(keras.ops.convert_to_tensor(params["weight"], dtype=dtype), labels)


def _categorical(target, logits, params, dtype, sample_weight=None):
    """CategoricalCrossentropy on classes-last inputs, without its warning for one class (checked on purpose)."""
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=params.get("label_smoothing", 0.0),
                                                reduction=keras_reduction(params), dtype=dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In loss categorical_crossentropy", category=SyntaxWarning)
        return loss(target, logits, sample_weight=sample_weight)


def labels_loss(target, logits, params, dtype):
    """Integer labels (N, d1, ...) with logits (N, C, d1, ...)."""
    logits = keras.ops.moveaxis(logits, 1, -1)
    weight = _sample_weight(target, params, dtype)
    if params.get("label_smoothing", 0.0) == 0:
        if len(logits.shape) > 2 and logits.shape[-1] == 1:
            raise UnsupportedError("tensorflow: Keras's SparseCategoricalCrossentropy rejects one class with spatial "
                                   "dimensions (docs/findings.md#keras-sparse-cross-entropy-one-class-spatial)")
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=params.get("ignore_index"),
            reduction=keras_reduction(params), dtype=dtype)
        return loss(target, logits, sample_weight=weight)
    if params.get("ignore_index") is not None:
        raise UnsupportedError("tensorflow: Keras has no cross-entropy with both ignore_class and label smoothing")
    return _categorical(keras.ops.one_hot(target, logits.shape[-1], dtype=dtype), logits, params, dtype, weight)


def probabilities_loss(target, logits, params, dtype):
    """Class probabilities and logits, both (N, C, d1, ...)."""
    if params.get("weight") is not None:
        raise UnsupportedError("tensorflow: a Keras sample weight cannot weight each class of a probability target")
    return _categorical(keras.ops.moveaxis(target, 1, -1), keras.ops.moveaxis(logits, 1, -1), params, dtype)


#: loss name -> (argument names: target, prediction) and a callable(target, prediction, params, dtype)
LOSSES = MappingProxyType({
    "softmax_cross_entropy": (("target", "logits"), labels_loss),
    "softmax_cross_entropy_probs": (("target", "logits"), probabilities_loss),
})

OPTIONS = MappingProxyType({
    "softmax_cross_entropy": frozenset({"class_weight", "ignore_index", "spatial"}),
    "softmax_cross_entropy_probs": frozenset({"spatial"}),
})

CONVENTIONS = MappingProxyType({
    "softmax_cross_entropy": MappingProxyType({"mean_divisor": "kept_count", "smoothing_weight": "per_example"}),
})
