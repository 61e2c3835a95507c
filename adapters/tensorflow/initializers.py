"""Initializers for the TensorFlow backend: ``keras.initializers`` called on the (in, out) shape with
``seed=seed`` (Keras's ``compute_fans`` reads fan_in = shape[0], fan_out = shape[1] of a 2-D shape: nnspec's layout),
and a fresh ``keras.layers.Dense`` built under ``keras.utils.set_random_seed(seed)`` (its default initializers
take their seeds from Python's ``random``, which that call seeds; Python's and NumPy's global states are restored
afterwards).

Keras's ``TruncatedNormal(mean, stddev)`` always truncates at mean +- 2 stddev: other windows are unsupported.
"""

from __future__ import annotations

import random

import numpy as np

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.tensorflow.runtime import as_numpy, keras

__all__ = ["KerasInitializersMixin"]


def _he(named, distribution: str, hyper):
    mode = hyper.get("mode", "fan_in")
    return (lambda seed: named(seed=seed)) if mode == "fan_in" else (
        lambda seed: keras.initializers.VarianceScaling(2.0, mode, distribution, seed=seed))


def _truncated_normal(hyper):
    mean, std, a, b = (float(hyper.get(k, d)) for k, d in (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)))
    if (a, b) != (mean - 2.0 * std, mean + 2.0 * std):
        raise UnsupportedError(f"tensorflow: keras TruncatedNormal truncates at mean +- 2 stddev, not [{a}, {b}]")
    return lambda seed: keras.initializers.TruncatedNormal(mean=mean, stddev=std, seed=seed)


#: initializer -> hyper -> seed -> a keras.initializers initializer
_INIT = {
    "glorot_uniform": lambda hyper: lambda seed: keras.initializers.GlorotUniform(seed=seed),
    "glorot_normal": lambda hyper: lambda seed: keras.initializers.GlorotNormal(seed=seed),
    "he_uniform": lambda hyper: _he(keras.initializers.HeUniform, "uniform", hyper),
    "he_normal": lambda hyper: _he(keras.initializers.HeNormal, "truncated_normal", hyper),
    "lecun_uniform": lambda hyper: lambda seed: keras.initializers.LecunUniform(seed=seed),
    "lecun_normal": lambda hyper: lambda seed: keras.initializers.LecunNormal(seed=seed),
    "truncated_normal": _truncated_normal,
    "variance_scaling": lambda hyper: lambda seed: keras.initializers.VarianceScaling(
        hyper.get("scale", 1.0), hyper.get("mode", "fan_in"), hyper.get("distribution", "truncated_normal"),
        seed=seed),
}


class KerasInitializersMixin:
    """``initialize`` and ``dense_default_init`` of TensorFlowBackend."""

    INIT_FEATURES: frozenset = frozenset({"initializers", "dense_default_init"})
    INIT_CONVENTIONS = {"initializers": {"normal": "truncated_normal"}, "dense_default_init": {"layer": "keras_dense"}}

    def initialize(self, initializer, shape, hyper, seed, dtype):
        if initializer not in _INIT:
            raise UnsupportedError(f"tensorflow: keras.initializers has no {initializer!r}")
        return as_numpy(_INIT[initializer](hyper)(seed)(tuple(shape), dtype=dtype))

    def dense_default_init(self, fan_in, fan_out, seed, dtype):
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            keras.utils.set_random_seed(seed)
            layer = keras.layers.Dense(fan_out, dtype=dtype)
            layer.build((None, fan_in))
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
        return as_numpy(layer.kernel), as_numpy(layer.bias)
