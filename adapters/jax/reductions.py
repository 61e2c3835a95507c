"""nnspec's loss reductions on JAX arrays, shared by the loss tables of the JAX backend."""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

__all__ = ["reduce"]


def reduce(losses, params: Mapping[str, object], kept=None):
    """"none": the losses; "sum": their sum; "mean" (the default): their mean over the ``kept`` ones (all when
    None; the cross-entropy's ignored rows are not kept)."""
    reduction = params.get("reduction", "mean")
    if reduction == "none":
        return losses
    return jnp.mean(losses, where=kept) if reduction == "mean" else jnp.sum(losses)
