"""Keras optimizers for the TensorFlow backend: keras.optimizers classes driven one step at a time from a state.

The optimizer is built on one ``keras.Variable`` (``optimizer.build([var])``); the reference State is loaded
into its variables, found among ``optimizer.variables`` by the suffix Keras gives each slot variable
(``<var>_momentum``, ``<var>_velocity``, ...); Keras's one shared ``iterations`` counter holds the step. Then
``apply_gradients`` runs and the variables are read back under the reference's field names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import OptimizerDeclaration, UnsupportedError
from nnspec.adapters.tensorflow.runtime import floatx, keras, tf
from nnspec.reference.optimizers import adadelta, adagrad, adam, adamax, lion, nadam, profiles, rmsprop, sgd

__all__ = ["KerasOptimizersMixin", "KERAS_DECLARATIONS"]

#: optimizer -> (Keras class name, reference State, Keras slot suffix -> State field)
_OPTIMIZERS = {
    "sgd": ("SGD", sgd.State, {"momentum": "momentum_buffer"}),
    "adagrad": ("Adagrad", adagrad.State, {"accumulator": "sum"}),
    "rmsprop": ("RMSprop", rmsprop.State, {"velocity": "square_avg", "momentum": "momentum_buffer",
                                           "average_gradient": "grad_avg"}),
    "adadelta": ("Adadelta", adadelta.State, {"accumulated_grad": "square_avg",
                                              "accumulated_delta_var": "acc_delta"}),
    "adam": ("Adam", adam.State, {"momentum": "exp_avg", "velocity": "exp_avg_sq", "velocity_hat": "max_exp_avg_sq"}),
    "adamw": ("AdamW", adam.State, {"momentum": "exp_avg", "velocity": "exp_avg_sq",
                                    "velocity_hat": "max_exp_avg_sq"}),
    "adamax": ("Adamax", adamax.State, {"momentum": "exp_avg", "norm": "exp_inf"}),
    "nadam": ("Nadam", nadam.State, {"momentum": "exp_avg", "velocity": "exp_avg_sq"}),
    "lion": ("Lion", lion.State, {"momentum": "exp_avg"}),
}

#: reference hyperparameter -> Keras constructor argument (betas is split in two below)
_KERAS_NAMES = {"lr": "learning_rate", "eps": "epsilon", "weight_decay": "weight_decay", "momentum": "momentum",
                "nesterov": "nesterov", "rho": "rho", "alpha": "rho", "centered": "centered",
                "amsgrad": "amsgrad", "initial_accumulator_value": "initial_accumulator_value"}


_PARAM = "param"  # the variable's name: its slot variables are called "param_<suffix>"


def _arguments(optimizer: str, hyper: Mapping[str, object]) -> dict[str, object]:
    """Keras constructor arguments for the reference hyperparameters ``hyper``."""
    pinned = profiles.conventions("keras", optimizer)  # SGD's dampening, Adagrad's lr_decay, NAdam's momentum_decay
    arguments: dict[str, object] = {}
    for name, value in hyper.items():
        if name in pinned:
            continue  # Keras has no such argument: the declaration pins its value, also for the reference
        if name == "betas":
            arguments["beta_1"], arguments["beta_2"] = float(value[0]), float(value[1])
        elif name in _KERAS_NAMES:
            arguments[_KERAS_NAMES[name]] = float(value) if isinstance(value, float) else value
        else:
            raise UnsupportedError(f"tensorflow: {optimizer} hyperparameter {name!r} has no Keras counterpart")
    if optimizer == "lion" and arguments.get("beta_1", 0.9) == 0:
        raise UnsupportedError("tensorflow: keras.optimizers.Lion refuses beta_1 = 0 (signSGD)")
    if arguments.get("weight_decay") == 0 and optimizer != "adamw":
        arguments["weight_decay"] = None  # Keras's "no weight decay"
    if "momentum" in arguments:
        arguments["momentum"] = float(arguments["momentum"])  # SGD checks isinstance(momentum, float)
    return arguments


#: Precision facts (docs/spec/optimizers.md#precision), read from keras/src/optimizers/*.py ``update_step``:
#: Adam, AdamW and Adamax form ``beta_1_power = ops.power(ops.cast(self.beta_1, dtype), local_step)`` (and
#: beta_2's) in the variable's dtype; Nadam also casts beta_1, beta_2 and 0.96 before ``1 - beta`` and its
#: momentum schedule. All four update their moments as ``m += (g - m) * (1 - beta)``. SGD, Adagrad, RMSprop and
#: Adadelta use the Python hyperparameters directly (each coefficient rounded once). Lion casts beta_1 and beta_2
#: and forms ``1.0 - beta`` in the dtype, but takes the weighted sum ``m * beta + g * (1 - beta)`` (keras/src/
#: optimizers/lion.py), so it is not in ``_INCREMENTAL``.
_DTYPE_ARITHMETIC = {"adam": ("bias_correction",), "adamw": ("bias_correction",), "adamax": ("bias_correction",),
                     "nadam": ("bias_correction", "moment_weight", "schedule"), "lion": ("moment_weight",)}
_INCREMENTAL = ("adam", "adamw", "adamax", "nadam")
#: ``ops.cast(python_float, dtype)`` is ``tf.cast``, which converts the number to a float32 tensor first: whatever
#: Keras casts is rounded to float32 also in float64 (``float32_hyperparameters``,
#: docs/spec/optimizers.md#float32-hyperparameters): the betas of the groups above, SGD's momentum, Adagrad's
#: initial accumulator (``initializers.Constant`` casts it) and every optimizer's weight decay
#: (``_apply_weight_decay``). Arithmetic with the Python number itself (``1 - self.beta_1`` in Adam, RMSprop's rho,
#: epsilon, NAdam's product of momentum factors) converts it to the tensor's dtype directly: not rounded.
_CAST = {"sgd": ("momentum",), "adagrad": ("initial_accumulator_value",)}
_PRECISION = {name: {**({"dtype_arithmetic": _DTYPE_ARITHMETIC[name]} if name in _DTYPE_ARITHMETIC else {}),
                     **({"moment_update": "incremental"} if name in _INCREMENTAL else {}),
                     "float32_hyperparameters": (*_CAST.get(name, ()), *_DTYPE_ARITHMETIC.get(name, ()),
                                                 "weight_decay")}
              for name in _OPTIMIZERS}

#: What Keras declares for each optimizer: the keras profile's conventions and Keras's precision facts.
KERAS_DECLARATIONS: Mapping[str, OptimizerDeclaration] = MappingProxyType({
    name: OptimizerDeclaration(MappingProxyType(profiles.conventions("keras", name)),
                               MappingProxyType(_PRECISION[name]))
    for name in _OPTIMIZERS})


class KerasOptimizersMixin:
    """Optimizer methods of TensorFlowBackend. ``OPTIMIZER_CONVENTIONS`` is what capabilities() declares (optimizer
    name -> ``OptimizerDeclaration``)."""

    OPTIMIZER_CONVENTIONS = KERAS_DECLARATIONS

    def _keras_optimizer(self, optimizer: str, hyper: Mapping[str, object]):
        if optimizer not in _OPTIMIZERS:
            raise UnsupportedError(f"tensorflow: optimizer {optimizer!r}")
        return getattr(keras.optimizers, _OPTIMIZERS[optimizer][0])(**_arguments(optimizer, hyper))

    def _slots(self, opt, optimizer: str) -> dict[str, object]:
        """State field -> the optimizer's variable holding it; "mu_product" is Nadam's one unnamed scalar."""
        suffixes = _OPTIMIZERS[optimizer][2]
        found = {}
        for variable in opt.variables:
            name = variable.name
            if name.startswith(_PARAM + "_") and name[len(_PARAM) + 1:] in suffixes:
                found[suffixes[name[len(_PARAM) + 1:]]] = variable
            elif optimizer == "nadam" and name not in ("iteration", "learning_rate") and len(variable.shape) == 0:
                found["mu_product"] = variable
        return found

    def _start(self, optimizer, hyper, param, dtype):
        opt = self._keras_optimizer(optimizer, hyper)
        variable = keras.Variable(np.asarray(param), dtype=dtype, name=_PARAM)
        opt.build([variable])
        return opt, variable

    def _read(self, opt, variable, optimizer) -> tuple[np.ndarray, dict[str, object]]:
        slots = self._slots(opt, optimizer)
        state: dict[str, object] = {"step": int(opt.iterations.numpy())}
        for field in _OPTIMIZERS[optimizer][1]._fields[1:]:
            value = slots.get(field)
            if field == "mu_product":
                state[field] = float(value.numpy())
            else:
                state[field] = None if value is None else np.asarray(value.numpy(), dtype=np.float64)
        return np.asarray(variable.numpy(), dtype=np.float64), state

    def _apply(self, opt, variable, grad, dtype) -> None:
        opt.apply_gradients([(tf.constant(grad, dtype=dtype), variable)])

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        with floatx(dtype):
            opt, variable = self._start(optimizer, hyper, param, dtype)
            if state is not None:
                opt.iterations.assign(int(state["step"]))
                for field, slot in self._slots(opt, optimizer).items():
                    if state.get(field) is not None:
                        slot.assign(np.asarray(state[field]))
            self._apply(opt, variable, grad, dtype)
            return self._read(opt, variable, optimizer)

    def optimizer_trajectory(self, optimizer, hyper, param, grads: Sequence[np.ndarray], dtype):
        with floatx(dtype):
            opt, variable = self._start(optimizer, hyper, param, dtype)
            trajectory = []
            for grad in grads:
                self._apply(opt, variable, grad, dtype)
                trajectory.append(self._read(opt, variable, optimizer))
        return trajectory
