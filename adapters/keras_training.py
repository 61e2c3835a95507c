"""Dropout, early stopping and the training step for the TensorFlow backend, with Keras's own objects; and the
quiet TensorFlow import the backend's modules share.

- dropout: ``keras.layers.Dropout(rate, seed=seed)`` called with ``training=...`` (its SeedGenerator is the RNG);
- early stopping: ``keras.callbacks.EarlyStopping`` driven epoch by epoch on scripted monitored values, with a
  one-weight model whose weight is set to the epoch index, so that the restored weights name their epoch;
- training step: ``keras.layers.Dense`` layers, a Keras loss, ``tf.GradientTape`` and a Keras optimizer.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

__all__ = ["KerasTrainingMixin", "floatx", "keras", "tf"]


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file while TensorFlow's C++ runtime starts (it logs oneDNN and CPU
    feature notices before its log level applies); the text is shown again only if the import fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _import_quietly():
    """Import TensorFlow and Keras (on its TensorFlow backend) without their start-up chatter. The environment
    variables read by TF's C++ logging are set only for the import and restored after it: the log level is
    fixed once TF has logged, and other frameworks in the process (XLA reads the same variable) keep theirs."""
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        raise ImportError("the tensorflow backend needs Keras on its TensorFlow backend, but keras was imported "
                          f"with KERAS_BACKEND={os.environ['KERAS_BACKEND']!r}")
    saved = {name: os.environ.get(name) for name in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    os.environ.update(TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    try:
        with _stderr_silenced():
            import keras as keras_module
            import tensorflow as tf_module
    except ImportError as error:  # pragma: no cover - exercised only without tensorflow
        raise ImportError("the tensorflow backend needs TensorFlow and Keras 3: pip install 'nnspec[tensorflow]'"
                          ) from error
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    tf_module.get_logger().setLevel("ERROR")  # TensorFlow's own Python logger only
    return tf_module, keras_module


tf, keras = _import_quietly()


@contextlib.contextmanager
def floatx(dtype: str) -> Iterator[None]:
    """Run with ``keras.backend.floatx()`` set to ``dtype`` (Keras creates optimizer variables, e.g. the
    learning rate, in floatx), restoring the previous value afterwards."""
    previous = keras.backend.floatx()
    keras.backend.set_floatx(dtype)
    try:
        yield
    finally:
        keras.backend.set_floatx(previous)


def _as_numpy(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


class KerasTrainingMixin:
    """Training methods of TensorFlowBackend. ``TRAINING_FEATURES`` is what capabilities() declares."""

    TRAINING_FEATURES: frozenset = frozenset({"dropout", "early_stopping", "training_step"})

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        with floatx(dtype):
            layer = keras.layers.Dropout(rate=p, seed=seed, dtype=dtype)
            inputs = tf.constant(x, dtype=dtype)
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                out = layer(inputs, training=training)
            grad = None
            if grad_output is not None:
                grad = tape.gradient(out, inputs, output_gradients=tf.constant(grad_output, dtype=dtype))
                grad = np.zeros(np.shape(x)) if grad is None else _as_numpy(grad)
        return _as_numpy(out), grad

    def early_stopping(self, losses: Sequence[float], rules: Mapping[str, object]):
        from nnspec.adapters.base import EarlyStoppingResult

        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
        callback = keras.callbacks.EarlyStopping(
            monitor="loss", mode=rules.get("mode", "min"), min_delta=rules.get("min_delta", 0.0),
            patience=rules.get("patience", 0), baseline=rules.get("baseline"),
            restore_best_weights=rules.get("restore_best_weights", False),
            start_from_epoch=rules.get("start_from_epoch", 0))
        callback.set_model(model)
        model.stop_training = False
        callback.on_train_begin()
        stopped = None
        for epoch, value in enumerate(losses):
            model.set_weights([np.array([[float(epoch)]])])
            callback.on_epoch_end(epoch, {"loss": float(value)})
            if model.stop_training:
                stopped = epoch
                break
        callback.on_train_end()
        return EarlyStoppingResult(stopped_epoch=stopped, restored_epoch=int(round(model.get_weights()[0][0, 0])))

    def training_step(self, layers, x, target, loss, loss_params, optimizer, hyper, dtype, dropout_masks=None):
        from nnspec.adapters.tensorflow_backend import _ACTIVATIONS, _LOSSES, _dense_layer

        with floatx(dtype):
            dense = [_dense_layer(layer.weight, layer.bias, dtype,
                                  _ACTIVATIONS[layer.activation](dict(layer.activation_params))) for layer in layers]
            masks = list(dropout_masks) if dropout_masks is not None else [None] * len(dense)
            y = tf.constant(target, dtype=tf.int64 if np.asarray(target).dtype.kind in "iu" else dtype)
            variables = [v for layer in dense for v in layer.trainable_variables]
            opt = self._keras_optimizer(optimizer, hyper)
            with tf.GradientTape() as tape:
                a = tf.constant(x, dtype=dtype)
                for layer, mask in zip(dense, masks):
                    a = layer(a) if mask is None else layer(a) * tf.constant(mask, dtype=dtype)
                value = _LOSSES[loss][1](y, a, dict(loss_params), dtype)
            grads = tape.gradient(value, variables)
            opt.apply_gradients(zip(grads, variables))
        return float(value), [(_as_numpy(layer.kernel), None if layer.bias is None else _as_numpy(layer.bias))
                              for layer in dense]
