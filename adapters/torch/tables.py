"""PyTorch's tables: the dtype map, each primitive as a torch call, the activation and loss modules a network is
built from, and the named spec variants torch follows. Data only: the drivers (backend.py, training.py) read them.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnspec.adapters.torch.binary_losses import OPS as BINARY_LOSS_OPS
from nnspec.adapters.torch.class_losses import OPS as CLASS_LOSS_OPS
from nnspec.adapters.torch.normalization import OPS as NORMALIZATION_OPS

__all__ = ["DTYPES", "OPS", "ACTIVATIONS", "LOSSES", "CONVENTIONS", "TRAINING_CONVENTIONS"]

#: nnspec dtype name -> torch dtype
DTYPES = MappingProxyType({"float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
                           "bfloat16": torch.bfloat16})

#: primitive -> callable(tensors, params); a dense weight arrives as torch's (out, in)
OPS = MappingProxyType({
    "identity": lambda t, p: nn.Identity()(t["x"]),
    "sigmoid": lambda t, p: torch.sigmoid(t["x"]),
    "tanh": lambda t, p: torch.tanh(t["x"]),
    "relu": lambda t, p: F.relu(t["x"]),
    "leaky_relu": lambda t, p: F.leaky_relu(t["x"], negative_slope=p.get("negative_slope", 0.01)),
    "softplus": lambda t, p: F.softplus(t["x"]),
    "gelu": lambda t, p: F.gelu(t["x"], approximate=p["approximate"]),
    "gelu_tanh": lambda t, p: F.gelu(t["x"], approximate=p["approximate"]),
    "silu": lambda t, p: F.silu(t["x"]),
    "softmax": lambda t, p: F.softmax(t["x"], dim=p.get("axis", -1)),
    "log_softmax": lambda t, p: F.log_softmax(t["x"], dim=p.get("axis", -1)),
    "mean_squared_error": lambda t, p: F.mse_loss(t["prediction"], t["target"], reduction=p.get("reduction", "mean")),
    "binary_cross_entropy": lambda t, p: F.binary_cross_entropy(
        t["probability"], t["target"], reduction=p.get("reduction", "mean")),
    "binary_cross_entropy_with_logits": lambda t, p: F.binary_cross_entropy_with_logits(
        t["logits"], t["target"], reduction=p.get("reduction", "mean")),
    **CLASS_LOSS_OPS,  # softmax cross-entropy and NLL with their options (class_losses.py)
    # smooth_l1's beta is the catalogue's delta (docs/spec/losses.md#smooth-l1); torch takes beta = 0 as l1_loss
    "huber": lambda t, p: F.huber_loss(t["prediction"], t["target"], reduction=p.get("reduction", "mean"),
                                       delta=p.get("delta", 1.0)),
    "smooth_l1": lambda t, p: F.smooth_l1_loss(t["prediction"], t["target"], reduction=p.get("reduction", "mean"),
                                               beta=p.get("delta", 1.0)),
    "dense": lambda t, p: F.linear(t["x"], t["weight"], t.get("bias")),
    **NORMALIZATION_OPS,
    **BINARY_LOSS_OPS,  # BCE with logits with pos_weight, and KL divergence (binary_losses.py)
})

#: activation -> callable(params) returning the nn.Module a network layer applies after its nn.Linear
ACTIVATIONS = MappingProxyType({
    "identity": lambda p: nn.Identity(),
    "sigmoid": lambda p: nn.Sigmoid(),
    "tanh": lambda p: nn.Tanh(),
    "relu": lambda p: nn.ReLU(),
    "leaky_relu": lambda p: nn.LeakyReLU(p.get("negative_slope", 0.01)),
    "softplus": lambda p: nn.Softplus(),
    "gelu": lambda p: nn.GELU(approximate=p.get("approximate", "none")),
    "silu": lambda p: nn.SiLU(),
    "softmax": lambda p: nn.Softmax(dim=-1),
    "log_softmax": lambda p: nn.LogSoftmax(dim=-1),
})

#: loss -> callable(params) returning the loss nn.Module of a network
LOSSES = MappingProxyType({
    "mean_squared_error": lambda p: nn.MSELoss(reduction=p.get("reduction", "mean")),
    "binary_cross_entropy": lambda p: nn.BCELoss(reduction=p.get("reduction", "mean")),
    "binary_cross_entropy_with_logits": lambda p: nn.BCEWithLogitsLoss(reduction=p.get("reduction", "mean")),
    "softmax_cross_entropy": lambda p: nn.CrossEntropyLoss(
        reduction=p.get("reduction", "mean"), label_smoothing=p.get("label_smoothing", 0.0)),
})

#: The named spec variants PyTorch follows (docs/spec/activations.md#softplus, docs/spec/losses.md).
CONVENTIONS = MappingProxyType({
    "softplus": {"threshold": 20.0},
    # at x = NaN threshold_backward tests x <= 0 (false: passes the gradient), leaky_relu_backward x > 0 (false:
    # the slope) (docs/spec/conventions.md#nan-propagation)
    "relu": {"nan_derivative": "positive"},
    "leaky_relu": {"nan_derivative": "negative"},
    # torch clamps each log at -100, and floors the backward's p(1-p) at EPSILON = 1e-12 held as a C++ float,
    # i.e. float32(1e-12) = 9.999999960041972e-13 also in float64 (aten/src/ATen/native/Loss.cpp).
    "binary_cross_entropy": {"log_floor": -100.0, "denominator_floor": float(np.float32(1e-12))},
})

#: The named spec variant torch's dropout follows (docs/spec/dropout.md#dropped-values): the input is
#: multiplied by the scaled mask, so a dropped inf or NaN becomes NaN (aten/src/ATen/native/Dropout.cpp).
TRAINING_CONVENTIONS = MappingProxyType({"dropout": MappingProxyType({"dropped_value": "x_times_zero"})})
