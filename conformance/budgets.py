"""Budgets: how far a backend's result may lie from the float64 reference, found in the concept's room.

For ``reference/X/Y.py`` the bounds live in ``conformance/X/Y.py`` (its room); this module only finds the room
and totals its bound with the error model (``nnspec.conformance.errormodel``, docs/spec/error-budgets.md#method).
A primitive's room follows from its catalogue entry's reference module, so the catalogue's variants (gelu_tanh,
softmax_cross_entropy_probs) share their module's room and select their formula by their params; an optimizer's
room follows from its catalogue entry likewise. The network, training-step, dropout and mini-batch budgets are
the rooms ``conformance/network.py``, ``training.py``, ``dropout.py`` and ``minibatch.py``, called directly; the
comparison is ``nnspec.conformance.comparison``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

import numpy as np

from nnspec.conformance.errormodel import OPTIMIZER_ORDER_SLACK, UNDERFLOW_FLOOR, Tracked, total
from nnspec.reference import catalogue, dtypes

__all__ = ["room_of", "room", "optimizer_room", "forward", "backward", "optimizer_steps"]


def room_of(reference: ModuleType) -> ModuleType:
    """The one lookup rule: the room of ``nnspec.reference.X.Y`` is ``nnspec.conformance.X.Y``
    (docs/architecture.md).

    Raises:
        ModuleNotFoundError: if the concept has no room yet (``tests/test_completeness.py`` lists it).
    """
    return importlib.import_module(reference.__name__.replace("nnspec.reference.", "nnspec.conformance.", 1))


def room(primitive: str) -> ModuleType:
    """The room of a catalogue primitive, holding ``forward_bound(arrays, params, fmt)`` and
    ``backward_bound(arrays, grad, params, fmt)``.

    Example:
        >>> room("gelu_tanh").__name__
        'nnspec.conformance.activations.gelu'
    """
    if primitive not in catalogue.names():
        raise ValueError(f"budgets: no budget is derived for primitive {primitive!r}")
    return room_of(catalogue.get(primitive).module)


def optimizer_room(optimizer: str) -> ModuleType:
    """The room of a catalogue optimizer, holding ``bound(p, g, s, h)``.

    Example:
        >>> optimizer_room("adamw").__name__
        'nnspec.conformance.optimizers.adamw'
    """
    return room_of(catalogue.optimizer(optimizer).module)


def forward(primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
            fmt: dtypes.Format) -> np.ndarray:
    """The budget for each element of ``primitive``'s output at these (float64, ``fmt``-representable) inputs."""
    bound = room(primitive).forward_bound
    return total(lambda f: bound(arrays, params, f), fmt)


def backward(
    primitive: str,
    arrays: Mapping[str, np.ndarray],
    grad_output: np.ndarray,
    params: Mapping[str, object],
    fmt: dtypes.Format,
) -> dict[str, np.ndarray]:
    """The budget for each element of each input gradient of ``primitive`` (a vector-Jacobian product)."""
    bound = room(primitive).backward_bound
    with np.errstate(all="ignore"):
        by_format = {f.name: bound(arrays, grad_output, params, f) for f in (fmt, dtypes.FLOAT64)}
    return {name: total(lambda f, name=name: by_format[f.name][name], fmt) for name in by_format[fmt.name]}


# --- optimizers (docs/spec/error-budgets.md#optimizers) --------------------------------------------------------


def _optimizer_run(bound, h, param, grads, state, fmt: dtypes.Format,
                   scalar: dtypes.Format) -> list[dict[str, np.ndarray]]:
    """The room's tracked ``bound`` stepped once per gradient in ``fmt``: the errors after each step."""
    fields = state._asdict() if hasattr(state, "_asdict") else dict(state)
    tracked = {"step": int(fields["step"])}
    for name, value in fields.items():
        if name == "mu_product":  # held in the scalar format: its value is rounded once on loading
            tracked[name] = Tracked.exact(value, scalar, scalar.unit_roundoff * abs(float(value)))
        elif name != "step":
            tracked[name] = None if value is None else Tracked.exact(value, fmt)
    p, out = Tracked.exact(param, fmt), []
    for grad in grads:
        p, new = bound(p, Tracked.exact(grad, fmt), tracked, h)
        tracked = {**tracked, **new, "step": tracked["step"] + 1}
        out.append({"param": p.error, **{k: v.error for k, v in new.items()}})
    return out


def _check_precision(precision: Mapping[str, object]) -> None:
    """Reject precision facts the budgets do not know (docs/spec/optimizers.md#precision)."""
    unknown = set(precision) - {"scalar_dtype", "dtype_arithmetic", "moment_update", "float32_hyperparameters"}
    if unknown:
        raise ValueError(f"precision: unknown facts {sorted(unknown)}; expected scalar_dtype, dtype_arithmetic, "
                         "moment_update, float32_hyperparameters")
    groups = set(precision.get("dtype_arithmetic", ())) - {"bias_correction", "moment_weight", "schedule"}
    if groups:
        raise ValueError(f"precision: dtype_arithmetic groups {sorted(groups)} are not bias_correction, "
                         "moment_weight or schedule")
    if precision.get("moment_update", "weighted_sum") not in ("weighted_sum", "incremental"):
        raise ValueError(f"precision: moment_update must be 'weighted_sum' or 'incremental', "
                         f"got {precision['moment_update']!r}")


def optimizer_steps(optimizer: str, keywords: Mapping[str, object], param: np.ndarray, grads, state,
                    fmt: dtypes.Format, precision: Mapping[str, object] | None = None) -> list[dict[str, np.ndarray]]:
    """Budgets for the parameter and every state array after each of ``len(grads)`` steps taken from ``state``.

    One gradient from the reference's state is the per-step check; several gradients from ``init``'s state are a
    free-running trajectory, whose budget at step k carries the rounding of steps 1..k-1 through the update's
    derivatives (docs/spec/error-budgets.md#optimizers).

    Args:
        optimizer: a module of ``nnspec.reference.optimizers``.
        keywords: the hyperparameters and the convention keywords the reference is evaluated with.
        param, grads, state: float64 values exact in ``fmt``; ``state`` a reference State (or its dict).
        fmt: the format of the dtype under test.
        precision: the backend's declared precision facts (docs/spec/optimizers.md#precision): ``scalar_dtype``,
            the format of its scalar state (NAdam's ``mu_product``) when coarser than ``fmt`` (PyTorch: float32
            also for float64 parameters); ``dtype_arithmetic``, the coefficient groups ("bias_correction",
            "moment_weight", "schedule") it computes in ``fmt`` from rounded hyperparameters; ``moment_update``
            "incremental" for m + (g - m)(1 - beta); ``float32_hyperparameters`` changes no rounding here: the
            caller evaluates the reference, and these budgets, at the framework's float32-rounded values
            (``optimizer_checks.reference_keywords`` and ``step_reference``), which are then exact.

    Returns:
        One dict per step: ``"param"`` and each state field (``mu_product`` 0-d) -> budget array.
    """
    precision = dict(precision or {})
    _check_precision(precision)
    bound = optimizer_room(optimizer).bound
    with np.errstate(all="ignore"):
        scalar_dtype = precision.pop("scalar_dtype", None)
        h = {**catalogue.optimizer(optimizer).defaults, **keywords, **precision}  # the reference step's defaults
        f64 = dtypes.FLOAT64
        # the declaration names its scalar format (the backend protocol's names): resolved here, where it is read
        scalar = dtypes.get(scalar_dtype) if scalar_dtype else fmt
        scalar = scalar if scalar.unit_roundoff > fmt.unit_roundoff else fmt
        low = _optimizer_run(bound, h, param, grads, state, fmt, scalar)
        high = _optimizer_run(bound, h, param, grads, state, f64, f64)
        floor = UNDERFLOW_FLOOR * fmt.tiny
        return [{k: OPTIMIZER_ORDER_SLACK * (a[k] + b[k]) + floor for k in a} for a, b in zip(low, high)]
