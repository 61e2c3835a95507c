"""optax's softmax cross-entropy with its options: ``optax.losses.softmax_cross_entropy_with_integer_labels``
(labels) and ``optax.losses.softmax_cross_entropy`` (probabilities, and labels with label smoothing: one-hot,
then ``optax.losses.smooth_labels``), both with ``where=`` for ``ignore_index``; classes on the last axis, so
logits of shape (N, C, d1, ...) get their class axis moved last (layout translation, reversed by autodiff).

optax returns per-example losses and has no reduction: "mean" is ``jnp.mean(losses, where=kept)``, the mean over
the kept examples (docs/spec/losses.md#class-weights-and-ignore-index: the "kept_count" convention). optax has
no class weights and no NLL on log-probabilities: the "class_weight" option and ``nll_loss`` are not declared.
"""

from __future__ import annotations

from types import MappingProxyType

import jax
import jax.numpy as jnp
import optax

from nnspec.adapters.jax.reductions import reduce

__all__ = ["LOSSES", "OPTIONS", "CONVENTIONS"]


def _cross_entropy(logits, target, params):
    logits = jnp.moveaxis(logits, 1, -1)  # optax: classes on the last axis
    smoothing = params.get("label_smoothing", 0.0)
    integer = jnp.issubdtype(target.dtype, jnp.integer)
    if not integer:
        target = jnp.moveaxis(target, 1, -1)
    ignore_index = params.get("ignore_index")
    kept = target != ignore_index if integer and ignore_index is not None else None
    if integer and smoothing == 0:
        losses = optax.losses.softmax_cross_entropy_with_integer_labels(logits, target, where=kept)
        return reduce(losses, params, kept)
    if integer:
        target = jax.nn.one_hot(target, logits.shape[-1], dtype=logits.dtype)
    if smoothing != 0:
        target = optax.losses.smooth_labels(target, smoothing)
    return reduce(optax.losses.softmax_cross_entropy(logits, target, where=kept), params, kept)


#: loss -> callable(tensors, params), merged into tables.LOSSES
LOSSES = MappingProxyType({
    "softmax_cross_entropy": lambda t, p: _cross_entropy(t["logits"], t["target"], p),
    "softmax_cross_entropy_probs": lambda t, p: _cross_entropy(t["logits"], t["target"], p),
})

OPTIONS = MappingProxyType({
    "softmax_cross_entropy": frozenset({"ignore_index", "ignore_index_smoothed", "spatial"}),
    "softmax_cross_entropy_probs": frozenset({"spatial"}),
})

#: "mean" is jnp.mean over the kept examples (optax has no reduction of its own)
CONVENTIONS = MappingProxyType({"softmax_cross_entropy": MappingProxyType({"mean_divisor": "kept_count"})})
