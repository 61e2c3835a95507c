"""Initializers for the JAX backend: ``jax.nn.initializers`` called with ``jax.random.key(seed)`` on the (in, out)
shape. JAX's default axes (``in_axis=-2``, ``out_axis=-1``) read fan_in = shape[0] and fan_out = shape[1] of an
(in, out) matrix, nnspec's layout: no translation at all.

JAX has no layer objects with default initializers (stax.Dense is an example library), so ``dense_default_init``
is not declared. Its ``truncated_normal(stddev, lower, upper)`` has mean 0 and bounds in units of stddev: the
adapter passes the reference's absolute bounds as a / std and b / std and supports mean 0 only.
"""

from __future__ import annotations

from types import MappingProxyType

import jax
import numpy as np
from jax.nn import initializers as jinit

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.jax.tables import DTYPES

__all__ = ["JaxInitializersMixin"]

#: Keras's distribution names -> JAX's
_DISTRIBUTIONS = {"uniform": "uniform", "truncated_normal": "truncated_normal", "untruncated_normal": "normal"}


def _he(named, scale_distribution: str, hyper):
    mode = hyper.get("mode", "fan_in")
    return named() if mode == "fan_in" else jinit.variance_scaling(2.0, mode, scale_distribution)


def _truncated_normal(hyper):
    mean, std, a, b = (float(hyper.get(k, d)) for k, d in (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)))
    if mean != 0.0:
        raise UnsupportedError(f"jax: jax.nn.initializers.truncated_normal has mean 0, not {mean}")
    return jinit.truncated_normal(stddev=std, lower=a / std, upper=b / std)


#: initializer -> hyper -> a jax.nn.initializers initializer
_INIT = {
    "glorot_uniform": lambda hyper: jinit.glorot_uniform(),
    "glorot_normal": lambda hyper: jinit.glorot_normal(),
    "he_uniform": lambda hyper: _he(jinit.he_uniform, "uniform", hyper),
    "he_normal": lambda hyper: _he(jinit.he_normal, "truncated_normal", hyper),
    "lecun_uniform": lambda hyper: jinit.lecun_uniform(),
    "lecun_normal": lambda hyper: jinit.lecun_normal(),
    "truncated_normal": _truncated_normal,
    "variance_scaling": lambda hyper: jinit.variance_scaling(
        hyper.get("scale", 1.0), hyper.get("mode", "fan_in"),
        _DISTRIBUTIONS[hyper.get("distribution", "truncated_normal")]),
}


class JaxInitializersMixin:
    """``initialize`` of JaxBackend (which provides ``_device``)."""

    INIT_FEATURES: frozenset = frozenset({"initializers"})
    #: float16 and bfloat16 run too, but each (sampler, shape, dtype) costs JAX a compilation: two dtypes keep the
    #: topic's ci time down (the torch backend checks the half formats).
    INIT_DTYPES = MappingProxyType({"initializers": ("float64", "float32")})

    def initialize(self, initializer, shape, hyper, seed, dtype):
        if initializer not in _INIT:
            raise UnsupportedError(f"jax: jax.nn.initializers has no {initializer!r}")
        with jax.default_device(self._device):
            weights = _INIT[initializer](hyper)(jax.random.key(seed), tuple(shape), DTYPES[dtype])
        return np.asarray(weights).astype(np.float64)
