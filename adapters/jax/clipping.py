"""Gradient clipping for the JAX backend with optax's transformations, as an optax chain runs them under
``jax.jit``: ``optax.clip_by_global_norm(max_norm)`` and ``optax.clip(max_delta)`` on the gradient pytree (a list).

optax has no per-tensor norm clipping (``clip_by_block_rms`` bounds each leaf's root mean square,
sqrt(mean(t ** 2)), with divisor max(1, rms / threshold): another quantity,
docs/spec/gradient-clipping.md#per-tensor-norm): the adapter applies ``clip_by_global_norm`` to each tensor
alone, as a user wanting it would. The global norm is L2 only: ``norm_type`` inf is unsupported. The threshold
enters the jitted function as a Python float (weakly typed: it takes the gradients' dtype, as the constant of a
closure does), so one compilation serves every draw of the same shapes; ``--backend-option jit=0`` runs it op by
op.
"""

from __future__ import annotations

from types import MappingProxyType

import jax
import numpy as np
import optax

from nnspec.adapters.base import UnsupportedError

__all__ = ["JaxClippingMixin"]


def _clipped(updates, threshold, mode: str):
    transform = optax.clip(threshold) if mode == "value" else optax.clip_by_global_norm(threshold)
    if mode == "per_tensor_norm":  # each leaf alone, in one jitted function
        return [transform.update([u], transform.init([u]))[0][0] for u in updates]
    return transform.update(updates, transform.init(updates))[0]


_JITTED = jax.jit(_clipped, static_argnames="mode")


class JaxClippingMixin:
    """``clip_gradients`` of JaxBackend (which provides ``_array``)."""

    CLIPPING_FEATURES: frozenset = frozenset({"gradient_clipping"})
    #: optax/transforms/_clipping.py clip_by_global_norm: select(g_norm < max_norm, t, (t / g_norm) * max_norm):
    #: no eps; an infinite norm gives t / inf * max_norm (0, or NaN for an infinite t), a NaN norm NaN
    CLIPPING_CONVENTIONS = MappingProxyType({"gradient_clipping": MappingProxyType(
        {"eps": 0.0, "nonfinite_global_norm": "scale"})})

    def clip_gradients(self, mode, grads, hyper, dtype):
        if float(hyper.get("norm_type", 2.0)) != 2.0:
            raise UnsupportedError("jax: optax.clip_by_global_norm takes the L2 norm only")
        clipped = _JITTED if self.choice_option("jit", "1", ("0", "1")) == "1" else _clipped
        updates = [self._array(g, dtype) for g in grads]
        threshold = float(hyper["clip_value"] if mode == "value" else hyper["max_norm"])
        return [np.asarray(jax.device_get(c), dtype=np.float64) for c in clipped(updates, threshold, mode=mode)]
