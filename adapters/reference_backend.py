"""The embedded reference as a backend: the suite's self-check, and its default when no framework is named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import (
    Backend,
    Capabilities,
    EarlyStoppingResult,
    KnownIssue,
    NetworkResult,
    OptimizerDeclaration,
    UnsupportedError,
)
from nnspec.adapters.known_issue_rules import centered_variance_within_rounding
from nnspec.adapters.reference_initializers import ReferenceInitializersMixin
from nnspec.reference import (
    catalogue,
    dropout,
    early_stopping,
    gradient_clipping,
    minibatch,
    network,
    schedules,
    training,
)
from nnspec.reference.normalization import running_stats
from nnspec.reference.optimizers import profiles

#: The reference declares PyTorch's conventions for every optimizer of the catalogue (the spec's defaults), and its
#: own defaults, named, for one PyTorch lacks (Lion: decoupled weight decay), so that `nnspec identify` can check
#: the declaration against what the reference computes.
_DECLARATIONS = MappingProxyType({
    name: OptimizerDeclaration(MappingProxyType(profiles.PROFILES["pytorch"].get(
        name, {key: catalogue.optimizer(name).defaults[key] for key in catalogue.optimizer(name).conventions})))
    for name in catalogue.optimizers()})


class ReferenceBackend(ReferenceInitializersMixin, Backend):
    """Runs ``nnspec.reference`` through the adapter protocol, in the dtype under test."""

    name = "reference"
    option_names = MappingProxyType({})
    #: the reference's own formulas, run in float16, share one defect of the frameworks that use them as written
    known_issues = (
        KnownIssue("reference-centered-rmsprop-negative-variance", "rmsprop", "optimizer",
                   centered_variance_within_rounding,
                   "the spec's centered RMSprop, sqrt(square_avg - grad_avg**2) unclamped, run in float16: once the "
                   "difference is within rounding it can turn negative and the parameter NaN, as in torch",
                   "docs/findings.md#torch-centered-rmsprop-negative-variance"),
    )

    def capabilities(self) -> Capabilities:
        return Capabilities(
            primitives=frozenset(p.name for p in catalogue.PRIMITIVES),
            dtypes=("float64", "float32", "float16"),
            devices=("cpu",),
            features=catalogue.features(),
            optimizers=_DECLARATIONS,
            options=MappingProxyType({name: frozenset(options) for name, options in catalogue.OPTIONS.items()}),
        )

    def environment(self) -> dict[str, object]:
        return {"framework": "nnspec.reference", "version": np.__version__, "device_name": "numpy (cpu)"}

    def _cast(self, arrays: Mapping[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
        if self.device != "cpu":
            raise UnsupportedError(f"reference: device {self.device!r} is not available (only 'cpu')")
        return {k: (v.astype(dtype) if v is not None and np.asarray(v).dtype.kind == "f" else v)
                for k, v in arrays.items()}

    def forward(self, primitive, arrays, params, dtype):
        entry = catalogue.get(primitive)
        return entry.module.forward(**self._cast(arrays, dtype), **params)

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        entry = catalogue.get(primitive)
        grads = entry.module.backward(**self._cast(arrays, dtype), grad_output=np.asarray(grad_output, dtype=dtype),
                                      **params)
        if isinstance(grads, np.ndarray):
            return {entry.differentiable[0]: grads}
        return {name: value for name, value in grads._asdict().items() if value is not None}

    def network(self, layers: Sequence[network.Layer], x, target, loss, loss_params, dtype) -> NetworkResult:
        cast = [network.Layer(layer.weight.astype(dtype), None if layer.bias is None else layer.bias.astype(dtype),
                              layer.activation, layer.activation_params)
                for layer in layers]
        arrays = self._cast({"x": x, "target": target}, dtype)
        value, grads = network.loss_and_gradients(cast, arrays["x"], arrays["target"], loss=loss, **loss_params)
        return NetworkResult(float(value), tuple(g.weight for g in grads), tuple(g.bias for g in grads))

    # --- dropout, early stopping, training (docs/spec/dropout.md, early-stopping.md, training.md) -----------

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        mask = dropout.sample_mask(np.shape(x), p, np.random.default_rng(seed))
        y = dropout.forward(self._cast({"x": x}, dtype)["x"], p, mask, training)
        if grad_output is None:
            return y, None
        return y, dropout.backward(np.asarray(grad_output, dtype=dtype), p, mask, training)

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        """n_calls masks drawn in turn from ONE Generator, ``default_rng(seed)`` (fresh entropy for None)."""
        rng, values = np.random.default_rng(seed), self._cast({"x": x}, dtype)["x"]
        return [dropout.forward(values, p, dropout.sample_mask(np.shape(x), p, rng), True) for _ in range(n_calls)]

    def dropout_training_stream(self, x, p, n_steps, seed, dtype):
        """The reference's training loop draws each step's mask from ONE Generator, ``default_rng(seed)``; the
        dense layer after it (identity weights, learning rate 0) does not change what the dropout outputs."""
        return self.dropout_stream(x, p, n_steps, seed, dtype)

    def early_stopping(self, losses, rules) -> EarlyStoppingResult:
        result = early_stopping.run([float(v) for v in losses], **rules)
        return EarlyStoppingResult(result.stopped_epoch, result.restored_epoch)

    def lr_schedule(self, schedule, hyper, steps, dtype):
        """docs/spec/schedules.md: the closed form in float64 with the spec's default (optax's) conventions, rounded
        into ``dtype`` as the update 0 - rate * 1 rounds it."""
        return schedules.rates(schedule, hyper, steps).astype(dtype)

    def training_step(self, layers, x, target, loss, loss_params, optimizer, hyper, dtype, dropout_masks=None):
        cast = [network.Layer(layer.weight.astype(dtype), None if layer.bias is None else layer.bias.astype(dtype),
                              layer.activation, layer.activation_params)
                for layer in layers]
        arrays = self._cast({"x": x, "target": target}, dtype)
        masks = None if dropout_masks is None else [None if m is None else np.asarray(m, dtype=dtype)
                                                    for m in dropout_masks]
        result = training.step(cast, arrays["x"], arrays["target"], loss=loss, loss_params=loss_params,
                               optimizer=optimizer, hyper=hyper, dropout_masks=masks)
        return result.loss, [(layer.weight, layer.bias) for layer in result.layers]

    def epoch_batches(self, n_examples, batch_size, shuffle, drop_last, seed):
        """One epoch's index batches (docs/spec/minibatch.md#batches), shuffled by a Generator seeded with seed."""
        return minibatch.batches(n_examples, batch_size, np.random.default_rng(seed), shuffle=shuffle,
                                 drop_last=drop_last)

    def batch_norm_running_stats(self, batches, momentum, x, weight, bias, eps, dtype):
        """docs/spec/normalization.md#running-statistics with the spec's default (PyTorch's) conventions; the
        statistics are held in the dtype, as a framework's buffers are."""
        mean, var = (s.astype(dtype) for s in running_stats.after_batches(
            [np.asarray(b, dtype=dtype) for b in batches], momentum=momentum))
        cast = self._cast({"x": x, "weight": weight, "bias": bias}, dtype)
        return mean, var, running_stats.inference(**cast, running_mean=mean, running_var=var, eps=eps)

    def clip_gradients(self, mode, grads, hyper, dtype):
        """docs/spec/gradient-clipping.md#modes, with the spec's default (PyTorch's) conventions."""
        return gradient_clipping.clip([self._cast({"g": g}, dtype)["g"] for g in grads], mode=mode, **hyper)

    # --- optimizers: the reference's own step, with the declared (PyTorch) conventions ------------------------

    def _optimizer_module(self, optimizer: str):
        if optimizer not in catalogue.optimizers():
            raise UnsupportedError(f"reference: optimizer {optimizer!r}")
        return catalogue.optimizer(optimizer).module

    def _optimizer_keywords(self, optimizer: str, hyper: Mapping[str, object]) -> dict[str, object]:
        return {**hyper, **self.capabilities().optimizers[optimizer].conventions}

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        module = self._optimizer_module(optimizer)
        keywords = self._optimizer_keywords(optimizer, hyper)
        arrays = self._cast({"param": param, "grad": grad}, dtype)
        state = module.init(arrays["param"], **keywords) if state is None else module.State(**state)
        new_param, new_state = module.step(arrays["param"], arrays["grad"], state, **keywords)
        return new_param, {k: v for k, v in new_state._asdict().items() if v is not None}

    def optimizer_trajectory(self, optimizer, hyper, param, grads, dtype):
        module = self._optimizer_module(optimizer)
        keywords = self._optimizer_keywords(optimizer, hyper)
        param = self._cast({"param": param}, dtype)["param"]
        state, out = module.init(param, **keywords), []
        for grad in grads:
            param, state = module.step(param, np.asarray(grad, dtype=dtype), state, **keywords)
            out.append((param, {k: v for k, v in state._asdict().items() if v is not None}))
        return out
