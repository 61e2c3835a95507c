"""Bounds of one training step (reference/training.py): forward with fixed dropout masks, loss, backward, one SGD
step from a fresh optimizer.

Spec: docs/spec/training.md#budget
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.conformance import network as network_room
from nnspec.conformance.errormodel import UNDERFLOW_FLOOR
from nnspec.reference import dtypes, training

__all__ = ["step_budget"]


def _sgd_first_step(param: np.ndarray, grad: np.ndarray, error: np.ndarray, hyper: Mapping[str, object],
                    u: float) -> np.ndarray:
    """Error of one SGD step from a fresh optimizer (the buffer starts at the gradient, dampening 0), given the
    gradient's error: coupled weight decay g + wd*param (wd rounded, a product, a sum) or decoupled
    param - lr*wd*param first (Keras's order: wd and lr rounded, two products, a difference), Nesterov
    d = g + m*g (m rounded, a product, a sum; heavy ball d = g), then param - lr*d (lr rounded, a product, a
    difference)."""
    lr, momentum = float(hyper.get("lr", 1e-3)), float(hyper.get("momentum", 0.0))
    decay = float(hyper.get("weight_decay", 0.0))
    decayed = np.zeros_like(param)
    if hyper.get("weight_decay_mode", "coupled") == "decoupled":
        # Keras: param - param*wd*lr first (wd and lr rounded, two products, a difference), then the step on g
        shrink = lr * decay * param
        decayed = u * (4 * np.abs(shrink) + np.abs(param - shrink))
        param, g = param - shrink, grad
    else:
        g = grad + decay * param
        error = error + u * (2 * np.abs(decay * param) + np.abs(g))
    d = g + momentum * g if hyper.get("nesterov", False) else g
    if hyper.get("nesterov", False):
        error = (1 + momentum) * error + u * (2 * momentum * np.abs(g) + np.abs(d))
    return decayed + lr * error + u * (2 * lr * np.abs(d) + np.abs(param - lr * d))


def step_budget(layers, masks, x, target, loss: str, loss_params: Mapping[str, object],
                hyper: Mapping[str, object], fmt: dtypes.Format) -> dict:
    """Budgets of one training step (forward with fixed dropout masks, loss, backward, one SGD step from a
    fresh optimizer): the loss before the step, and every weight and bias after it.

    The network's bound (``network.bound`` with the masks, per format) gives each gradient's error; the step adds
    its few roundings per element (``_sgd_first_step``). ``layers`` are float64 ``network.Layer`` values with the
    backend's conventions applied; ``hyper`` holds lr, momentum, nesterov, weight_decay (dampening 0).
    """
    masks = [None if m is None else np.asarray(m, dtype=np.float64) for m in masks]
    _, grads = training.loss_and_gradients(layers, x, target, loss=loss, loss_params=loss_params,
                                           dropout_masks=masks)
    floor = UNDERFLOW_FLOOR * fmt.tiny
    result = {"loss": floor, "weights": [floor] * len(layers), "biases": [floor] * len(layers)}
    for each in (fmt, dtypes.FLOAT64):
        bound = network_room.bound(layers, x, target, loss, loss_params, each, masks)
        result["loss"] = result["loss"] + float(bound["loss"])
        for i, (layer, layer_grads) in enumerate(zip(layers, grads)):
            result["weights"][i] = result["weights"][i] + _sgd_first_step(
                layer.weight, layer_grads.weight, bound["weights"][i], hyper, each.unit_roundoff)
            if layer.bias is not None:
                result["biases"][i] = result["biases"][i] + _sgd_first_step(
                    layer.bias, layer_grads.bias, bound["biases"][i], hyper, each.unit_roundoff)
    return result
