"""JAX's tables: the dtype map, each primitive as a jax.numpy / jax.nn / optax function, and the named spec variants
JAX follows. Data only: the drivers (backend.py, model.py) read them.

- activations: ``jax.nn.{sigmoid, tanh (jnp.tanh), relu, leaky_relu, softplus, gelu, silu, softmax, log_softmax}``;
- losses: ``optax.losses.squared_error`` (mean squared error; ``optax.losses.l2_loss`` is half of it),
  ``optax.losses.sigmoid_binary_cross_entropy``, ``optax.losses.softmax_cross_entropy`` (probabilities, and
  labels with label smoothing: ``jax.nn.one_hot`` then ``optax.losses.smooth_labels``) and
  ``optax.losses.softmax_cross_entropy_with_integer_labels`` (with their options: class_losses.py),
  ``optax.losses.huber_loss``; optax returns per-example losses, reduced here with ``jnp.mean`` / ``jnp.sum``,
  as every optax user does;
- ``binary_cross_entropy`` on probabilities is not declared: neither jax nor optax has one; nor is ``smooth_l1``.
"""

from __future__ import annotations

from types import MappingProxyType

import jax
import jax.numpy as jnp
import optax

from nnspec.adapters.jax.binary_losses import CONVENTIONS as KL_CONVENTIONS
from nnspec.adapters.jax.binary_losses import LOSSES as KL_LOSSES
from nnspec.adapters.jax.class_losses import CONVENTIONS as CLASS_LOSS_CONVENTIONS
from nnspec.adapters.jax.class_losses import LOSSES as CLASS_LOSSES
from nnspec.adapters.jax.reductions import reduce

__all__ = ["DTYPES", "ACTIVATIONS", "LOSSES", "OPS", "CONVENTIONS"]

#: nnspec dtype name -> JAX dtype
DTYPES = MappingProxyType({"float64": jnp.float64, "float32": jnp.float32, "float16": jnp.float16,
                           "bfloat16": jnp.bfloat16})

#: activation -> callable(x, params)
ACTIVATIONS = MappingProxyType({
    "identity": lambda x, p: x,
    "sigmoid": lambda x, p: jax.nn.sigmoid(x),
    "tanh": lambda x, p: jnp.tanh(x),
    "relu": lambda x, p: jax.nn.relu(x),
    "leaky_relu": lambda x, p: jax.nn.leaky_relu(x, negative_slope=p.get("negative_slope", 0.01)),
    "softplus": lambda x, p: jax.nn.softplus(x),
    "gelu": lambda x, p: jax.nn.gelu(x, approximate=p.get("approximate", "none") == "tanh"),
    "silu": lambda x, p: jax.nn.silu(x),
    "softmax": lambda x, p: jax.nn.softmax(x, axis=p.get("axis", -1)),
    "log_softmax": lambda x, p: jax.nn.log_softmax(x, axis=p.get("axis", -1)),
})


#: loss -> callable(tensors, params), the prediction named as in the catalogue
LOSSES = MappingProxyType({
    "mean_squared_error": lambda t, p: reduce(optax.losses.squared_error(t["prediction"], t["target"]), p),
    "binary_cross_entropy_with_logits": lambda t, p: reduce(
        optax.losses.sigmoid_binary_cross_entropy(t["logits"], t["target"]), p),
    **CLASS_LOSSES,  # softmax cross-entropy with its options (class_losses.py)
    "huber": lambda t, p: reduce(optax.losses.huber_loss(t["prediction"], t["target"], delta=p.get("delta", 1.0)), p),
    **KL_LOSSES,  # KL divergence (binary_losses.py)
})


def _on_x(activation):
    return lambda t, p: activation(t["x"], p)


#: primitive -> callable(tensors, params)
OPS = MappingProxyType({
    **{name: _on_x(activation) for name, activation in ACTIVATIONS.items()},
    "gelu_tanh": lambda t, p: ACTIVATIONS["gelu"](t["x"], p),
    **LOSSES,
    "dense": lambda t, p: jnp.dot(t["x"], t["weight"]) + t["bias"] if t.get("bias") is not None
    else jnp.dot(t["x"], t["weight"]),
})


#: jax.nn.relu and leaky_relu differentiate through a select on x > 0: at x = NaN the VJP takes the negative
#: branch, 0 and the slope (docs/spec/conventions.md#nan-propagation).
CONVENTIONS = MappingProxyType({"relu": MappingProxyType({"nan_derivative": "negative"}),
                                "leaky_relu": MappingProxyType({"nan_derivative": "negative"}),
                                **CLASS_LOSS_CONVENTIONS, **KL_CONVENTIONS})
