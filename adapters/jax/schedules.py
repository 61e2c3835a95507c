"""Learning-rate schedules for the jax backend: optax's schedule functions passed as ``learning_rate`` to
``optax.sgd``, which queries the schedule at its own ``count`` (0 at the first update) and then increments it
(docs/spec/schedules.md#measuring).

The parameter is 0 before each update and its gradient 1, so ``optax.apply_updates`` leaves exactly minus the
rate the update applied, rounded into the parameter's dtype. Argument translation only: ``decay_steps`` of
``warmup_cosine_decay_schedule`` counts the warmup too, ``end_value`` is absolute (alpha * lr; the drawn values
make these exact).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnspec.adapters.jax.tables import DTYPES

__all__ = ["JaxSchedulesMixin"]


def _step_decay(h):
    return optax.exponential_decay(h["lr"], transition_steps=h["step_size"], decay_rate=h["gamma"], staircase=True)


def _piecewise_constant(h):
    return optax.piecewise_constant_schedule(h["lr"], {int(m): h["gamma"] for m in h["milestones"]})


def _exponential(h):
    return optax.exponential_decay(h["lr"], transition_steps=1, decay_rate=h["gamma"])


def _cosine(h):
    return optax.cosine_decay_schedule(h["lr"], decay_steps=h["decay_steps"], alpha=h.get("alpha", 0.0))


def _warmup_cosine(h):
    return optax.warmup_cosine_decay_schedule(h["start_factor"] * h["lr"], h["lr"], warmup_steps=h["warmup_steps"],
                                              decay_steps=h["warmup_steps"] + h["decay_steps"],
                                              end_value=h.get("alpha", 0.0) * h["lr"])


def _linear(h):
    return optax.linear_schedule(h["start_factor"] * h["lr"], h["end_factor"] * h["lr"],
                                 transition_steps=h["total_steps"])


def _onecycle(h):
    return optax.cosine_onecycle_schedule(h["total_steps"], h["lr"], pct_start=h.get("pct_start", 0.3),
                                          div_factor=h.get("div_factor", 25.0),
                                          final_div_factor=h.get("final_div_factor", 1e4))


_SCHEDULES = {"step_decay": _step_decay, "piecewise_constant": _piecewise_constant, "exponential": _exponential,
              "cosine": _cosine, "warmup_cosine": _warmup_cosine, "linear": _linear, "onecycle": _onecycle}


class JaxSchedulesMixin:
    """``lr_schedule`` of JaxBackend (which provides ``_device``)."""

    SCHEDULE_FEATURES: frozenset = frozenset(f"schedule_{name}" for name in _SCHEDULES)

    @staticmethod
    def schedule_conventions() -> dict[str, object]:
        """optax's conventions are the spec's defaults. Most of its schedules divide the int32 ``count`` by an int,
        which JAX computes in float32 even under ``jax_enable_x64`` (int32 / int is float32), so the rate carries
        float32 roundings; ``cosine_decay_schedule`` and ``piecewise_constant_schedule`` combine the count with
        Python floats only (JAX's default float), float64 there (docs/spec/schedules.md#rate-dtype)."""
        if jax.dtypes.canonicalize_dtype(jnp.float64) != jnp.float64:
            return {"lr_schedule": {"rate_dtype": "float32"}}
        return {"lr_schedule": {"rate_dtype": {**dict.fromkeys(_SCHEDULES, "float32"), "cosine": "float64",
                                               "piecewise_constant": "float64"}}}

    def lr_schedule(self, schedule: str, hyper: Mapping[str, object], steps: int, dtype: str) -> np.ndarray:
        optimizer = optax.sgd(learning_rate=_SCHEDULES[schedule](hyper))
        with jax.default_device(self._device):
            zero = jnp.zeros((1,), dtype=DTYPES[dtype])
            state, grad, applied = optimizer.init(zero), jnp.ones_like(zero), []
            for _ in range(steps):
                updates, state = optimizer.update(grad, state, zero)
                applied.append(-np.asarray(optax.apply_updates(zero, updates), dtype=np.float64))
        return np.concatenate(applied) if applied else np.zeros(0)
