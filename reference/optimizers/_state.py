"""Entry checks shared by the optimizers: the parameter and its gradient, the state, the hyperparameters.

Every optimizer computes in the parameter's dtype, as frameworks do: the gradient and the state arrays are
converted to ``param.dtype``, scalar coefficients (bias corrections, schedules) are Python floats, and numpy's
promotion rules (NEP 50) then keep array arithmetic in that dtype. Messages name the calling function and the
argument, e.g. ``adam.step: betas[1] must be in [0.0, 1.0), got 1.0``.

Spec: docs/spec/optimizers.md#conventions
"""

from __future__ import annotations

import numbers

import numpy as np

from nnspec.reference import _validation as check

WEIGHT_DECAY_MODES = ("coupled", "decoupled")
MAX_STEP = 2**53


def param_and_grad(function: str, param: object, grad: object) -> tuple[np.ndarray, np.ndarray]:
    """Return the parameter as a float array and the gradient converted to the parameter's dtype."""
    param = check.float_array(function, "param", param)
    grad = check.float_array(function, "grad", grad)
    check.same_shape(function, "grad", grad, "param", param)
    return param, grad.astype(param.dtype, copy=False)


def state(function: str, value: object, state_type: type, param: np.ndarray,
          scalars: tuple[str, ...] = ()) -> object:
    """Check that ``value`` is a ``state_type`` for ``param`` and return it with its arrays in param's dtype.

    Fields named in ``scalars`` are real numbers; every other field is ``None`` or an array of param's shape.
    ``step`` is an int in [0, 2**53): every such count is exact as a float64, which bias corrections and
    schedules raise coefficients to (a larger one would overflow the conversion to float).
    """
    if not isinstance(value, state_type):
        raise TypeError(f"{function}: state must be the State returned by init, got {type(value).__name__}")
    step = value.step
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral) or not 0 <= step < MAX_STEP:
        raise ValueError(f"{function}: state.step must be an int in [0, 2**53), got {step!r}")
    fields = {"step": int(step)}
    for name in value._fields[1:]:
        field = getattr(value, name)
        if name in scalars:
            field = check.real_number(function, f"state.{name}", field)
        elif field is not None:
            field = check.float_array(function, f"state.{name}", field)
            check.same_shape(function, f"state.{name}", field, "param", param)
            field = field.astype(param.dtype, copy=False)
        fields[name] = field
    return state_type(**fields)


def require(function: str, value: object, name: str, needed: bool, because: str) -> None:
    """Raise unless the optional state field ``name`` is present exactly when the hyperparameters need it."""
    present = getattr(value, name) is not None
    if present != needed:
        status = "missing" if needed else "present"
        raise ValueError(
            f"{function}: state.{name} is {status} but {because}; call init with the same hyperparameters"
        )


def nonnegative(function: str, name: str, value: object) -> float:
    """A finite real number >= 0 (learning rates, weight decay, eps, ...)."""
    return check.real_number(function, name, value, low=0.0)


def fraction(function: str, name: str, value: object, *, below_one: bool = False) -> float:
    """A real number in [0, 1], or in [0, 1) when ``below_one`` (decay rates, momentum, dampening)."""
    return check.real_number(function, name, value, low=0.0, high=1.0, high_open=below_one)


def betas(function: str, value: object) -> tuple[float, float]:
    """A pair (beta1, beta2), each in [0, 1)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{function}: betas must be a pair (beta1, beta2), got {value!r}")
    return (fraction(function, "betas[0]", value[0], below_one=True),
            fraction(function, "betas[1]", value[1], below_one=True))


def flag(function: str, name: str, value: object) -> bool:
    """A bool (a truthy number is not accepted: ``amsgrad=0.9`` is a caller's bug)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{function}: {name} must be a bool, got {type(value).__name__}")
    return bool(value)


def weight_decay(param: np.ndarray, grad: np.ndarray, step_size: float, weight_decay: float,
                 mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Apply weight decay (docs/spec/optimizers.md#weight-decay); nothing happens when weight_decay == 0.

    Math:
        grad = grad + weight_decay * param                    ("coupled": L2, added to the gradient)
        param = param - step_size * weight_decay * param      ("decoupled": before the update)
    """
    if weight_decay != 0 and mode == "coupled":
        grad = grad + weight_decay * param
    if weight_decay != 0 and mode == "decoupled":
        param = param - step_size * weight_decay * param
    return param, grad


def as_dtype(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """An array of ``dtype`` (numpy turns 0-d results into scalars; this turns them back)."""
    return np.asarray(value, dtype=dtype)
