"""TensorFlow / Keras tables: each primitive as a Keras activation or loss, and the named spec variants Keras
follows. Data only: the drivers (backend.py, training.py) read them.

The elementwise losses (MSE, BCE, Huber) get their inputs in their real shapes: Keras first averages each loss
over the LAST axis and then applies its reduction to what remains, which is the declared convention
``last_axis="mean"`` (docs/spec/losses.md#last-axis): Keras's ``"sum"`` and ``None`` then differ from PyTorch's
for inputs of shape (N, d, ...), and the suite checks exactly that. Cross-entropy already works per example, as
nnspec's does (class_losses.py); the binary-loss options and KL divergence are in binary_losses.py.
"""

from __future__ import annotations

import warnings
from types import MappingProxyType

from nnspec.adapters.tensorflow import binary_losses
from nnspec.adapters.tensorflow.class_losses import CONVENTIONS as CLASS_LOSS_CONVENTIONS
from nnspec.adapters.tensorflow.class_losses import LOSSES as CLASS_LOSSES
from nnspec.adapters.tensorflow.runtime import keras, keras_reduction

__all__ = ["ACTIVATIONS", "LOSSES", "CONVENTIONS"]

_act = keras.activations


def _elementwise_loss(cls, **fixed):
    """An elementwise Keras loss, on the inputs as they are (see the module docstring)."""
    def call(target, prediction, params, dtype):
        loss = cls(reduction=keras_reduction(params), dtype=dtype, **fixed)
        return loss(target, prediction)
    return call


def _huber(target, prediction, params, dtype):
    """keras.losses.Huber with the drawn delta, on the inputs as they are like MSE."""
    return _elementwise_loss(keras.losses.Huber, delta=params.get("delta", 1.0))(target, prediction, params, dtype)


#: loss name -> (argument names: target, prediction) and a callable(target, prediction, params, dtype)
LOSSES = MappingProxyType({
    "mean_squared_error": (("target", "prediction"), _elementwise_loss(keras.losses.MeanSquaredError)),
    "binary_cross_entropy": (("target", "probability"), binary_losses.binary_loss(from_logits=False)),
    "binary_cross_entropy_with_logits": (("target", "logits"), binary_losses.binary_loss(from_logits=True)),
    "kl_divergence_probs": (("target", "prediction"), binary_losses.kl_divergence),
    **CLASS_LOSSES,  # softmax cross-entropy with its options (class_losses.py)
    "huber": (("target", "prediction"), _huber),
})


def _quiet(function, *args, **kwargs):
    """Call ``function`` without Keras's warnings about one class (a softmax over an axis of length 1, a
    categorical cross-entropy with one column), which the suite checks on purpose: the results are exact."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a softmax over axis", category=UserWarning)
        warnings.filterwarnings("ignore", message="In loss categorical_crossentropy", category=SyntaxWarning)
        return function(*args, **kwargs)


#: activation name -> callable(params) returning a keras activation function
ACTIVATIONS = MappingProxyType({
    "identity": lambda p: _act.linear,
    "sigmoid": lambda p: _act.sigmoid,
    "tanh": lambda p: _act.tanh,
    "relu": lambda p: _act.relu,
    "leaky_relu": lambda p: lambda x: _act.leaky_relu(x, negative_slope=p.get("negative_slope", 0.01)),
    "softplus": lambda p: _act.softplus,
    "gelu": lambda p: lambda x: _act.gelu(x, approximate=p.get("approximate", "none") == "tanh"),
    "gelu_tanh": lambda p: lambda x: _act.gelu(x, approximate=True),
    "silu": lambda p: _act.silu,
    "softmax": lambda p: lambda x: _quiet(_act.softmax, x, axis=p.get("axis", -1)),
    "log_softmax": lambda p: lambda x: _act.log_softmax(x, axis=p.get("axis", -1)),
})

#: The named spec variants Keras follows: BinaryCrossentropy on probabilities clips them to
#: [epsilon, 1 - epsilon] with keras.backend.epsilon() = 1e-7 (keras/src/backend/tensorflow/nn.py).
#: tf.nn.gelu makes its constants with math_ops.cast(python_float, dtype), which goes through a float32 tensor:
#: 1/sqrt(2) (exact form) and 0.044715 (tanh form) are float32-rounded also in float64
#: (docs/spec/activations.md#gelu-float32-constants). The LeakyRelu op holds alpha as a C++ float
#: (docs/spec/activations.md#leaky-relu-float32-slope).
_GELU = MappingProxyType({"float32_constants": True})
CONVENTIONS = MappingProxyType({
    "binary_cross_entropy": MappingProxyType({"clip_probability": float(keras.backend.epsilon()), "last_axis": "mean"}),
    # each sample is first averaged over the last axis (keras/src/losses/losses.py; docs/spec/losses.md#last-axis)
    **{name: MappingProxyType({"last_axis": "mean"})
       for name in ("mean_squared_error", "binary_cross_entropy_with_logits", "huber")},
    **binary_losses.CONVENTIONS,
    "gelu": _GELU,
    "gelu_tanh": _GELU,
    "leaky_relu": MappingProxyType({"float32_slope": True, "nan_derivative": "negative"}),
    # the Relu and LeakyRelu gradient kernels select on x > 0: at NaN, 0 and the slope
    # (docs/spec/conventions.md#nan-propagation)
    "relu": MappingProxyType({"nan_derivative": "negative"}),
    # EarlyStopping.on_epoch_end returns before its stop check on an improving epoch
    # (docs/spec/early-stopping.md#improvement-postpones)
    "early_stopping": MappingProxyType({"improvement_postpones": True}),
    # class weights as sample weights, "mean" over the kept examples (class_losses.py)
    **CLASS_LOSS_CONVENTIONS,
})
