"""Initializers for the reference backend: ``nnspec.reference.initializers`` sampled from a numpy Generator seeded
with the seed, under the spec's default conventions (Keras's and JAX's truncated normals, Keras's Dense)."""

from __future__ import annotations

import numpy as np

from nnspec.reference import initializers

__all__ = ["ReferenceInitializersMixin"]


class ReferenceInitializersMixin:
    """``initialize`` and ``dense_default_init`` of ReferenceBackend (docs/spec/initializers.md)."""

    def initialize(self, initializer, shape, hyper, seed, dtype):
        return initializers.sample(initializer, tuple(shape), hyper, np.random.default_rng(seed), dtype)

    def dense_default_init(self, fan_in, fan_out, seed, dtype):
        return initializers.sample_dense_default(fan_in, fan_out, np.random.default_rng(seed), dtype)
