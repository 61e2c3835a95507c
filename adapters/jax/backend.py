"""JAX backend: jax.numpy / jax.nn primitives, optax losses, jax.vjp for gradients; CPU, or GPU when jaxlib has one.

JAX is functional: a primitive is a pure function of arrays, its gradient is ``jax.vjp`` of that function, and a
network is a pure function of its parameter pytree (model.py). JAX keeps dense weights as (in, out), like nnspec,
so there is no layout translation at all. float64 needs ``jax_enable_x64``, which the backend turns on when
constructed (``--backend-option x64=0`` leaves it off; float64 is then not declared). Which library function
computes each primitive: tables.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

try:  # first: the modules below import jax and optax too
    import jax
    import jax.numpy as jnp
    import optax
except ImportError as error:  # pragma: no cover - exercised only without jax
    raise ImportError("the jax backend needs JAX and optax: pip install 'nnspec[jax]'") from error

from nnspec.adapters.base import Backend, Capabilities, NetworkResult, UnsupportedError
from nnspec.adapters.jax import model
from nnspec.adapters.jax.binary_losses import OPTIONS as KL_OPTIONS
from nnspec.adapters.jax.class_losses import OPTIONS as CLASS_LOSS_OPTIONS
from nnspec.adapters.jax.clipping import JaxClippingMixin
from nnspec.adapters.jax.initializers import JaxInitializersMixin
from nnspec.adapters.jax.known_issues import KNOWN_ISSUES
from nnspec.adapters.jax.optimizers import JaxOptimizersMixin
from nnspec.adapters.jax.schedules import JaxSchedulesMixin
from nnspec.adapters.jax.tables import CONVENTIONS, DTYPES, OPS
from nnspec.reference import catalogue

__all__ = ["JaxBackend"]


class JaxBackend(JaxOptimizersMixin, JaxClippingMixin, JaxSchedulesMixin, JaxInitializersMixin, Backend):
    """JAX through its public API. Devices: ``cpu``, or ``gpu`` (``cuda``) when jaxlib was built with one.
    Options: ``x64=0`` leaves ``jax_enable_x64`` off; ``jit=0`` runs primitives op by op (default: under
    ``jax.jit``, as JAX code runs in practice); ``matmul_precision=highest|default|...`` sets
    ``jax_default_matmul_precision`` (default: JAX's own, which is what users get)."""

    name = "jax"
    ops: Mapping[str, object] = OPS
    known_issues = KNOWN_ISSUES

    option_names = MappingProxyType({"x64": "1 (default) enables float64", "jit": "1 (default) jits each op",
                                     "matmul_precision": "default, high or highest"})

    def __init__(self, device: str = "cpu", **options: str) -> None:
        super().__init__(device, **options)
        if self.choice_option("x64", "1", ("0", "1")) == "1":
            jax.config.update("jax_enable_x64", True)
        self.choice_option("jit", "1", ("0", "1"))
        if "matmul_precision" in options:
            precision = self.choice_option("matmul_precision", "default", ("default", "high", "highest"))
            jax.config.update("jax_default_matmul_precision", precision)
        self._functions: dict = {}
        platform = "gpu" if device in ("gpu", "cuda") else device
        try:
            self._device = jax.devices(platform)[0]
        except RuntimeError as error:
            raise UnsupportedError(f"jax: device {device!r} is not available ({error})") from None

    def capabilities(self) -> Capabilities:
        x64 = jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64  # float32 unless jax_enable_x64 took effect
        dtypes = (("float64",) if x64 else ()) + ("float32", "float16", "bfloat16")
        return Capabilities(primitives=frozenset(self.ops), dtypes=dtypes,
                            devices=(self.device,), conventions={**CONVENTIONS, **self.CLIPPING_CONVENTIONS,
                                                                  **self.schedule_conventions()},
                            features=frozenset({"network", "dropout_stream", "dropout_training_stream"})
                            | self.TRAINING_FEATURES | self.CLIPPING_FEATURES | self.SCHEDULE_FEATURES
                            | self.INIT_FEATURES,
                            optimizers=MappingProxyType(dict(self.OPTIMIZER_CONVENTIONS)),
                            options={**CLASS_LOSS_OPTIONS, **KL_OPTIONS}, dtypes_for=self.INIT_DTYPES)

    def environment(self) -> dict[str, object]:
        return {
            "framework": "jax",
            "version": jax.__version__,
            "optax": optax.__version__,
            "device": self.device,
            "device_name": self._device.device_kind,
            "platform": self._device.platform,
            "jax_enable_x64": bool(jax.config.jax_enable_x64),
            "default_matmul_precision": jax.config.jax_default_matmul_precision,
        }

    def _array(self, value: np.ndarray, dtype: str):
        value = np.asarray(value)
        if value.dtype.kind in "iu":
            return jax.device_put(value.astype(np.int32), self._device)
        if dtype not in self.capabilities().dtypes:
            raise UnsupportedError(f"jax: dtype {dtype!r}")
        return jax.device_put(value.astype(DTYPES[dtype]), self._device)

    def _arrays(self, arrays: Mapping[str, np.ndarray], dtype: str) -> dict:
        return {k: self._array(v, dtype) for k, v in arrays.items() if v is not None}

    def _compiled(self, kind: str, primitive: str, params: Mapping[str, object], names: tuple[str, ...]):
        """The primitive's forward (kind "forward") or VJP (kind "vjp", differentiable inputs ``names``) as one
        function, under ``jax.jit`` as JAX code runs in practice (``jit=0``: op by op), cached per parameters."""
        if primitive not in self.ops:
            raise UnsupportedError(f"jax: primitive {primitive!r}")
        key = (kind, primitive, tuple(sorted(params.items())), names)
        if key not in self._functions:
            op, params = self.ops[primitive], dict(params)

            def vjp(values, grad_output):
                fixed = {k: v for k, v in values.items() if k not in names}
                out, pullback = jax.vjp(lambda *d: op({**fixed, **dict(zip(names, d))}, params),
                                        *(values[k] for k in names))
                return pullback(grad_output.astype(out.dtype).reshape(out.shape))

            function = (lambda values: op(values, params)) if kind == "forward" else vjp
            self._functions[key] = jax.jit(function) if self.options.get("jit", "1") == "1" else function
        return self._functions[key]

    def forward(self, primitive, arrays, params, dtype):
        return _numpy(self._compiled("forward", primitive, params, ())(self._arrays(arrays, dtype)))

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        values = self._arrays(arrays, dtype)
        names = tuple(k for k in catalogue.get(primitive).differentiable if k in values)
        grads = self._compiled("vjp", primitive, params, names)(values, self._array(grad_output, dtype))
        return {k: _numpy(g) for k, g in zip(names, grads)}

    def network(self, layers: Sequence, x, target, loss, loss_params, dtype) -> NetworkResult:
        params = self.parameters(layers, dtype)
        value, grads = jax.jit(jax.value_and_grad(self.loss_function(layers, loss, loss_params)))(
            params, self._array(x, dtype), self._array(target, dtype))
        return NetworkResult(float(value), tuple(_numpy(w) for w, _ in grads),
                             tuple(None if b is None else _numpy(b) for _, b in grads))

    # --- dropout as training uses it: one call site, a key split per call (docs/spec/dropout.md#stream) ---------

    @staticmethod
    def next_dropout_key(key):
        """JAX's documented pattern, ``key, subkey = jax.random.split(key)``: (the carried key, this call's key)."""
        key, subkey = jax.random.split(key)
        return key, subkey

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        """stax.Dropout's apply called n_calls times from ``jax.random.key(seed)``, each call with a fresh subkey
        split off the carried key (JAX's PRNG documentation; Flax's dropout guide uses ``fold_in(key, step)``
        instead). JAX has no unseeded stream (a key is an argument): ``"dropout_stream_unseeded"`` is not declared."""
        from jax.example_libraries import stax

        if seed is None:
            raise UnsupportedError("jax: dropout_stream needs a seed (JAX's dropout takes an explicit key)")
        _, apply = stax.Dropout(1.0 - p, mode="train")  # stax's rate is the keep rate
        key, inputs, outputs = jax.random.key(seed), self._array(x, dtype), []
        for _ in range(n_calls):
            key, subkey = self.next_dropout_key(key)
            outputs.append(_numpy(apply((), inputs, rng=subkey)))
        return outputs

    def dropout_training_stream(self, x, p, n_steps, seed, dtype):
        """The training step JAX users write: a jitted ``train_step(params, key, x)`` that splits the carried key
        (``next_dropout_key``), takes ``value_and_grad`` of the MSE of stax.Dropout followed by stax.Dense (identity
        weights) with the dropout output as aux, and applies SGD with learning rate 0; the key starts from
        ``jax.random.key(seed)`` (no unseeded variant: a key is an argument)."""
        from jax.example_libraries import stax

        if seed is None:
            raise UnsupportedError("jax: dropout_training_stream needs a seed (JAX's dropout takes an explicit key)")
        _, drop = stax.Dropout(1.0 - p, mode="train")  # stax's rate is the keep rate
        _, dense = stax.Dense(x.shape[-1])
        split = self.next_dropout_key

        def loss(params, key, inputs):
            hidden = drop((), inputs, rng=key)
            return jnp.mean(dense(params, hidden) ** 2), hidden

        @jax.jit
        def train_step(params, key, inputs):
            key, subkey = split(key)
            (_, hidden), grads = jax.value_and_grad(loss, has_aux=True)(params, subkey, inputs)
            params = jax.tree_util.tree_map(lambda w, g: w - 0.0 * g, params, grads)
            return params, key, hidden

        inputs = self._array(x, dtype)
        params = (self._array(np.eye(x.shape[-1]), dtype), self._array(np.zeros(x.shape[-1]), dtype))
        key, outputs = jax.random.key(seed), []
        for _ in range(n_steps):
            params, key, hidden = train_step(params, key, inputs)
            outputs.append(_numpy(hidden))
        return outputs

    # --- the network of model.py (also used by training_step) ------------------------------------------------

    def parameters(self, layers: Sequence, dtype: str) -> list:
        """The parameter pytree (``model.parameters``) on the device."""
        return model.parameters(layers, lambda array: self._array(array, dtype))

    #: (layers, loss, loss_params, dropout_masks=None) -> the network's loss as a function of (params, x, target)
    loss_function = staticmethod(model.loss_function)


def _numpy(value) -> np.ndarray:
    return np.asarray(jax.device_get(value), dtype=np.float64)
