"""Bounds of a sequential network's loss and parameter gradients (reference/network.py).

First-order propagation of the primitives' bounds through the network, with absolute values: an error E in an
input of a step reaches its output through |Jacobian| E, to which the step adds its own bound (its room's
``forward_bound`` / ``backward_bound``). Smooth elementwise activations only (a room with ``second_derivative``),
so rounding cannot cross a kink; a loss whose room has ``hessian_times``.

Spec: docs/spec/error-budgets.md#networks
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.conformance import budgets
from nnspec.conformance import dense as dense_room
from nnspec.conformance.errormodel import UNDERFLOW_FLOOR
from nnspec.reference import catalogue, dense, dtypes

__all__ = ["bound", "budget"]


def _check_smooth(layers, loss: str) -> None:
    """Every activation's room gives its second derivative and the loss's room its Hessian."""
    for layer in layers:
        if not hasattr(budgets.room(layer.activation), "second_derivative"):
            raise ValueError(f"network.bound: activation must be smooth and elementwise (its room in "
                             f"nnspec.conformance.activations gives second_derivative), got {layer.activation!r}")
    if not hasattr(budgets.room(loss), "hessian_times"):
        raise ValueError(f"network.bound: loss must be one whose room in nnspec.conformance.losses gives "
                         f"hessian_times, got {loss!r}")


def _forward_pass(layers, x: np.ndarray, masks: Sequence, fmt: dtypes.Format) -> tuple:
    """The output a, its error, and the tape of every layer's (layer, input, its error, z, z's error, params,
    mask) for the backward pass."""
    u = fmt.unit_roundoff
    a, error_a, tape = x, np.zeros_like(x), []
    for layer, mask in zip(layers, masks):
        module, params = catalogue.get(layer.activation).module, dict(layer.activation_params)
        z = dense.forward(a, layer.weight, layer.bias)
        error_z = error_a @ np.abs(layer.weight) + dense_room.forward_bound({"x": a, "weight": layer.weight,
                                                                             "bias": layer.bias}, {}, fmt)
        slope = np.abs(module.backward(z, np.ones_like(z), **params))
        tape.append((layer, a, error_a, z, error_z, params, mask))
        a = module.forward(z, **params)
        error_a = slope * error_z + budgets.room(layer.activation).forward_bound({"x": z}, params, fmt)
        if mask is not None:
            a, error_a = a * mask, np.abs(mask) * error_a + u * np.abs(a * mask)
    return a, error_a, tape


def _backward_pass(tape: list, grad: np.ndarray, error_grad: np.ndarray, fmt: dtypes.Format) -> tuple[list, list]:
    """The errors of every weight and bias gradient, from the loss gradient ``grad`` and its error."""
    u = fmt.unit_roundoff
    weights, biases = [], []
    for layer, a_in, error_in, z, error_z, params, mask in reversed(tape):
        if mask is not None:
            grad, error_grad = grad * mask, np.abs(mask) * error_grad + u * np.abs(grad * mask)
        module, room = catalogue.get(layer.activation).module, budgets.room(layer.activation)
        slope = np.abs(module.backward(z, np.ones_like(z), **params))
        grad_z = module.backward(z, grad, **params)
        error_grad_z = (room.backward_bound({"x": z}, grad, params, fmt)["x"] + slope * error_grad
                        + room.second_derivative(z, params) * np.abs(grad) * error_z)
        own = dense_room.backward_bound({"x": a_in, "weight": layer.weight, "bias": layer.bias}, grad_z, {}, fmt)
        weights.insert(0, error_in.T @ np.abs(grad_z) + np.abs(a_in).T @ error_grad_z + own["weight"])
        biases.insert(0, np.sum(error_grad_z, axis=0) + own.get("bias", 0.0))
        grad = grad_z @ layer.weight.T
        error_grad = error_grad_z @ np.abs(layer.weight).T + own["x"]
    return weights, biases


def bound(layers, x: np.ndarray, target: np.ndarray, loss: str, loss_params: Mapping[str, object],
          fmt: dtypes.Format, masks: Sequence | None = None) -> dict:
    """The network's bounds in format ``fmt``. With ``masks`` (fixed dropout masks, one per layer or None), each
    mask multiplied into a layer's activation output adds u |a m| (0 when m is a power of two) and carries the
    error m |error|, forward and backward."""
    _check_smooth(layers, loss)
    a, error_a, tape = _forward_pass(layers, x, [None] * len(layers) if masks is None else masks, fmt)
    entry, room = catalogue.get(loss), budgets.room(loss)
    output = entry.inputs[0]  # the array the loss takes from the network: prediction, or logits
    loss_arrays = {output: a, "target": target}
    grad = entry.module.backward(a, target, grad_output=1.0, **loss_params)
    error_loss = np.sum(np.abs(grad) * error_a) + room.forward_bound(loss_arrays, loss_params, fmt)
    error_grad = (room.backward_bound(loss_arrays, np.asarray(1.0), loss_params, fmt)[output]
                  + room.hessian_times(a, target, error_a, loss_params.get("reduction", "mean")))
    weights, biases = _backward_pass(tape, grad, error_grad, fmt)
    return {"loss": error_loss, "weights": weights, "biases": biases}


def budget(layers, x: np.ndarray, target: np.ndarray, loss: str, loss_params: Mapping[str, object],
           fmt: dtypes.Format) -> dict:
    """Budgets for a sequential network's loss and every parameter gradient: :func:`bound` in ``fmt`` and in
    float64, plus the underflow floor.

    ``layers`` are ``nnspec.reference.network.Layer`` in float64 with the backend's conventions applied.
    Returns ``{"loss": float, "weights": [array], "biases": [array]}``.
    """
    low, high = (bound(layers, x, target, loss, loss_params, f) for f in (fmt, dtypes.FLOAT64))
    floor = UNDERFLOW_FLOOR * fmt.tiny
    return {
        "loss": float(low["loss"] + high["loss"] + floor),
        "weights": [a + b + floor for a, b in zip(low["weights"], high["weights"])],
        "biases": [a + b + floor for a, b in zip(low["biases"], high["biases"])],
    }
