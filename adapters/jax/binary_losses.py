"""optax's KL divergence (docs/spec/losses.md#kl-divergence): ``optax.losses.kl_divergence(log_predictions,
targets)`` and ``kl_divergence_with_log_targets``, each summed over the last axis (``axis=-1``, the default) into
one loss per sample, which the adapter reduces with ``jnp.mean`` / ``jnp.sum`` as every optax user does: the
convention ``last_axis="sum"``. optax has no ``pos_weight`` and no binary label smoothing
(``optax.losses.smooth_labels`` spreads e over the last axis's C entries, e / C, not Keras's e / 2).
"""

from __future__ import annotations

from types import MappingProxyType

import optax

from nnspec.adapters.jax.reductions import reduce

__all__ = ["LOSSES", "CONVENTIONS", "OPTIONS"]


def _kl_divergence(t, p):
    if p.get("log_target", False):
        return reduce(optax.losses.kl_divergence_with_log_targets(t["log_prediction"], t["target"]), p)
    return reduce(optax.losses.kl_divergence(t["log_prediction"], t["target"]), p)


#: loss -> callable(tensors, params)
LOSSES = MappingProxyType({"kl_divergence": _kl_divergence})
#: optax sums each sample over the last axis (docs/spec/losses.md#last-axis)
CONVENTIONS = MappingProxyType({"kl_divergence": MappingProxyType({"last_axis": "sum"})})
#: the options of catalogue.OPTIONS optax implements
OPTIONS = MappingProxyType({"kl_divergence": frozenset({"log_target"})})
