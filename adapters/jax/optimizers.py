"""optax optimizers, and the training step, for the jax backend.

Each optimizer is the optax alias a user would call (``optax.sgd``, ``adagrad``, ``rmsprop``, ``adadelta``,
``adam`` / ``amsgrad``, ``adamw``, ``adamax``, ``nadam``, ``lion``), stepped with ``opt.update`` and
``optax.apply_updates``. Weight decay, which only ``adadelta``, ``adamw`` and ``lion`` take (``_OWN_DECAY``),
is elsewhere optax's own ``optax.add_decayed_weights`` chained in front of the alias (optax's documented idiom:
L2 added to the gradient, the "coupled" convention of the profile). Hyperparameters optax has no argument for are
refused (``UnsupportedError``), never emulated: SGD's dampening, Adagrad's lr_decay, AdamW with AMSGrad.

State translation (the reference's field names <-> the fields of optax's state NamedTuples) is layout only:

- ``count`` <-> ``step`` (optax's Adagrad, RMSprop, Adadelta and SGD keep no count, so no step is returned);
- optax's RMSprop applies ``trace`` (momentum) after scaling by -lr, so its ``trace`` holds -lr * sum, the
  negative of the reference's "lr_scaled" buffer: the sign is flipped both ways (exact);
- NAdam: optax keeps no product of momentum factors (its schedule is constant), so ``mu_product`` is not
  returned.

Spec: docs/spec/optimizers.md#conformance
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnspec.adapters.base import OptimizerDeclaration, UnsupportedError
from nnspec.reference.optimizers import profiles

__all__ = ["JaxOptimizersMixin"]

#: optimizer -> optax state field -> reference State field ("-trace": the negated trace, see above)
_STATE_FIELDS = {
    "sgd": {"trace": "momentum_buffer"},
    "adagrad": {"sum_of_squares": "sum"},
    "rmsprop": {"nu": "square_avg", "mu": "grad_avg", "trace": "-momentum_buffer"},
    "adadelta": {"e_g": "square_avg", "e_x": "acc_delta"},
    "adam": {"count": "step", "mu": "exp_avg", "nu": "exp_avg_sq", "nu_max": "max_exp_avg_sq"},
    "adamw": {"count": "step", "mu": "exp_avg", "nu": "exp_avg_sq"},
    "adamax": {"count": "step", "mu": "exp_avg", "nu": "exp_inf"},
    "nadam": {"count": "step", "mu": "exp_avg", "nu": "exp_avg_sq"},
    "lion": {"count": "step", "mu": "exp_avg"},
}

#: the aliases that take weight decay themselves (Lion's and AdamW's decoupled: -lr * (update + wd * param))
_OWN_DECAY = ("adadelta", "adamw", "lion")

#: reference hyperparameters optax has no argument for, with the only value optax computes
_FIXED = {"sgd": {"dampening": 0.0}, "adagrad": {"lr_decay": 0.0}, "adamw": {"amsgrad": False}}


def _build(optimizer: str, hyper: Mapping[str, object]) -> optax.GradientTransformation:
    """The optax optimizer for the reference hyperparameters ``hyper``."""
    for name, only in _FIXED.get(optimizer, {}).items():
        if name in hyper and hyper[name] != only:
            raise UnsupportedError(f"jax: optax.{optimizer} has no {name!r} (only {only!r}), got {hyper[name]!r}")
    h = dict(hyper)
    lr, decay = h.get("lr", 1e-3), h.get("weight_decay", 0.0)
    b1, b2 = h.get("betas", (0.9, 0.999))
    momentum = h.get("momentum", 0.0) or None  # optax: None means no trace at all
    aliases = {
        "sgd": lambda: optax.sgd(lr, momentum=momentum, nesterov=h.get("nesterov", False)),
        "adagrad": lambda: optax.adagrad(lr, initial_accumulator_value=h.get("initial_accumulator_value", 0.1),
                                         eps=h.get("eps", 1e-7)),
        "rmsprop": lambda: optax.rmsprop(lr, decay=h.get("alpha", 0.9), eps=h.get("eps", 1e-8),
                                         centered=h.get("centered", False), momentum=momentum),
        "adadelta": lambda: optax.adadelta(lr, rho=h.get("rho", 0.9), eps=h.get("eps", 1e-6), weight_decay=decay),
        "adam": lambda: (optax.amsgrad if h.get("amsgrad", False) else optax.adam)(lr, b1=b1, b2=b2,
                                                                                   eps=h.get("eps", 1e-8)),
        "adamw": lambda: optax.adamw(lr, b1=b1, b2=b2, eps=h.get("eps", 1e-8), weight_decay=decay),
        "adamax": lambda: optax.adamax(lr, b1=b1, b2=b2, eps=h.get("eps", 1e-8)),
        "nadam": lambda: optax.nadam(lr, b1=b1, b2=b2, eps=h.get("eps", 1e-8)),
        "lion": lambda: optax.lion(lr, *h.get("betas", (0.9, 0.99)), weight_decay=decay),
    }
    if optimizer not in aliases:
        raise UnsupportedError(f"jax: optimizer {optimizer!r}")
    if decay == 0 or optimizer in _OWN_DECAY:
        return aliases[optimizer]()
    return optax.chain(optax.add_decayed_weights(decay), aliases[optimizer]())


def _named_tuples(state):
    """Every NamedTuple with fields in optax's (nested tuple) state, in order."""
    if hasattr(state, "_fields"):
        return [state] if state._fields else []
    if isinstance(state, tuple):
        return [inner for part in state for inner in _named_tuples(part)]
    return []


def _load(state, fields: Mapping[str, str], given: Mapping[str, object], dtype):
    """optax's ``state`` with every mapped field replaced by the reference's value from ``given``."""
    if hasattr(state, "_fields"):
        replace = {}
        for name in state._fields:
            target = fields.get(name, "")
            value = given.get(target.lstrip("-"))
            if value is None:
                continue
            if target == "step":
                replace[name] = jnp.asarray(int(value), dtype=jnp.asarray(getattr(state, name)).dtype)
            else:
                value = jnp.asarray(np.asarray(value), dtype=dtype)
                replace[name] = -value if target.startswith("-") else value
        return state._replace(**replace)
    if isinstance(state, tuple):
        return tuple(_load(part, fields, given, dtype) for part in state)
    return state


def _read(state, fields: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for part in _named_tuples(state):
        for name in part._fields:
            target = fields.get(name)
            if target == "step":
                out["step"] = int(getattr(part, name))
            elif target is not None:
                value = np.asarray(jax.device_get(getattr(part, name)), dtype=np.float64)
                out[target.lstrip("-")] = -value if target.startswith("-") else value
    return out


class JaxOptimizersMixin:
    """Optimizer and training methods of JaxBackend (which provides ``_array``, ``parameters`` and
    ``loss_function``). ``OPTIMIZER_CONVENTIONS`` (optimizer name -> ``OptimizerDeclaration``) and
    ``TRAINING_FEATURES`` are what capabilities() declares."""

    OPTIMIZER_CONVENTIONS: Mapping[str, OptimizerDeclaration] = MappingProxyType({
        name: OptimizerDeclaration(MappingProxyType(profiles.conventions("optax", name)),
                                   # optax's NAdam derives beta1**t from its step count and holds no running product
                                   state_not_held=("mu_product",) if name == "nadam" else ())
        for name in _STATE_FIELDS})
    #: dropout is JAX's own stax.Dropout (jax.example_libraries: jax.random.bernoulli, then where(keep, x / keep
    #: rate, 0)); no early stopping and no data loader (JAX has none)
    TRAINING_FEATURES: frozenset = frozenset({"training_step", "dropout"})

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        from jax.example_libraries import stax

        _, apply = stax.Dropout(1.0 - p, mode="train" if training else "test")  # stax's rate is the keep rate
        key = jax.random.key(seed)
        as_numpy = lambda a: np.asarray(jax.device_get(a), dtype=np.float64)  # noqa: E731
        inputs = self._array(x, dtype)
        if grad_output is None:
            return as_numpy(apply((), inputs, rng=key)), None
        y, vjp = jax.vjp(lambda v: apply((), v, rng=key), inputs)
        (grad,) = vjp(self._array(grad_output, dtype))
        return as_numpy(y), as_numpy(grad)

    def _step(self, opt, param, grad, state):
        updates, state = opt.update(grad, state, param)
        return optax.apply_updates(param, updates), state

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        opt = _build(optimizer, hyper)
        p = self._array(param, dtype)
        opt_state = opt.init(p)
        if state is not None:
            opt_state = _load(opt_state, _STATE_FIELDS[optimizer], state, p.dtype)
        p, opt_state = self._step(opt, p, self._array(grad, dtype), opt_state)
        return np.asarray(jax.device_get(p), dtype=np.float64), _read(opt_state, _STATE_FIELDS[optimizer])

    def optimizer_trajectory(self, optimizer, hyper, param, grads: Sequence[np.ndarray], dtype):
        opt = _build(optimizer, hyper)
        p = self._array(param, dtype)
        opt_state, out = opt.init(p), []
        for grad in grads:
            p, opt_state = self._step(opt, p, self._array(grad, dtype), opt_state)
            out.append((np.asarray(jax.device_get(p), dtype=np.float64), _read(opt_state, _STATE_FIELDS[optimizer])))
        return out

    def training_step(self, layers, x, target, loss, loss_params, optimizer, hyper, dtype, dropout_masks=None):
        """A pure jax function: value_and_grad of the network's loss, then one optax update of every parameter."""
        masks = None if dropout_masks is None else [None if m is None else self._array(m, dtype)
                                                    for m in dropout_masks]
        params = self.parameters(layers, dtype)
        opt = _build(optimizer, hyper)
        value, grads = jax.jit(jax.value_and_grad(self.loss_function(layers, loss, loss_params, masks)))(
            params, self._array(x, dtype), self._array(target, dtype))
        params, _ = self._step(opt, params, grads, opt.init(params))
        as_numpy = lambda a: None if a is None else np.asarray(jax.device_get(a), dtype=np.float64)  # noqa: E731
        return float(value), [(as_numpy(w), as_numpy(b)) for w, b in params]
