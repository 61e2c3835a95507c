"""Dropout, early stopping and the training step for the TensorFlow backend, with Keras's own objects:

- dropout: ``keras.layers.Dropout(rate, seed=seed)`` called with ``training=...`` (its SeedGenerator is the RNG);
  the streams call ONE such layer many times, as ``model.fit`` does (docs/spec/dropout.md#stream);
- early stopping: ``keras.callbacks.EarlyStopping`` driven epoch by epoch on scripted monitored values, with a
  one-weight model whose weight is set to the epoch index, so that the restored weights name their epoch;
- training step: the Dense layers of model.py, a Keras loss, ``tf.GradientTape`` and a Keras optimizer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.adapters.base import EarlyStoppingResult
from nnspec.adapters.tensorflow import model
from nnspec.adapters.tensorflow.runtime import as_numpy, floatx, keras, tf
from nnspec.adapters.tensorflow.tables import LOSSES

__all__ = ["KerasTrainingMixin"]


class _Record(keras.layers.Layer):
    """Passes its input through and keeps a copy in a variable: what the layer before it output at the last step
    of a compiled training loop (a variable assignment is a side effect that tf.function keeps)."""

    def build(self, input_shape):
        self.seen = self.add_weight(shape=tuple(input_shape), initializer="zeros", trainable=False, name="seen")

    def call(self, inputs):
        self.seen.assign(inputs)
        return inputs


class KerasTrainingMixin:
    """Training methods of TensorFlowBackend (its optimizer mixin provides ``_keras_optimizer``).
    ``TRAINING_FEATURES`` is what capabilities() declares."""

    TRAINING_FEATURES: frozenset = frozenset({"dropout", "early_stopping", "training_step", "dropout_stream",
                                              "dropout_stream_unseeded", "dropout_training_stream"})

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
                grad = np.zeros(np.shape(x)) if grad is None else as_numpy(grad)
        return as_numpy(out), grad

    def early_stopping(self, losses: Sequence[float], rules: Mapping[str, object]):
        network = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
        callback = keras.callbacks.EarlyStopping(
            monitor="loss", mode=rules.get("mode", "min"), min_delta=rules.get("min_delta", 0.0),
            patience=rules.get("patience", 0), baseline=rules.get("baseline"),
            restore_best_weights=rules.get("restore_best_weights", False),
            start_from_epoch=rules.get("start_from_epoch", 0))
        callback.set_model(network)
        network.stop_training = False
        callback.on_train_begin()
        stopped = None
        for epoch, value in enumerate(losses):
            network.set_weights([np.array([[float(epoch)]])])
            callback.on_epoch_end(epoch, {"loss": float(value)})
            if network.stop_training:
                stopped = epoch
                break
        callback.on_train_end()
        return EarlyStoppingResult(stopped_epoch=stopped, restored_epoch=int(round(network.get_weights()[0][0, 0])))

    def training_step(self, layers, x, target, loss, loss_params, optimizer, hyper, dtype, dropout_masks=None):
        with floatx(dtype):
            dense = model.build(layers, dtype)
            y = model.target_tensor(target, dtype)
            variables = [v for layer in dense for v in layer.trainable_variables]
            opt = self._keras_optimizer(optimizer, hyper)
            with tf.GradientTape() as tape:
                value = LOSSES[loss][1](y, model.forward(dense, x, dtype, dropout_masks), dict(loss_params), dtype)
            grads = tape.gradient(value, variables)
            opt.apply_gradients(zip(grads, variables))
        return float(value), [(as_numpy(layer.kernel), None if layer.bias is None else as_numpy(layer.bias))
                              for layer in dense]

    # --- dropout as training uses it: one layer, many calls (docs/spec/dropout.md#stream) -------------------

    def dropout_layer(self, p: float, seed: int | None, dtype: str):
        """The one ``keras.layers.Dropout(rate=p, seed=seed)`` of a stream: its SeedGenerator starts at
        [seed, 0] (a random seed from ``make_default_seed`` for None) and advances by one per call."""
        return keras.layers.Dropout(rate=p, seed=seed, dtype=dtype)

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        """ONE Keras Dropout layer called n_calls times with ``training=True``, as ``model.fit`` calls it."""
        with floatx(dtype):
            layer, inputs = self.dropout_layer(p, seed, dtype), tf.constant(x, dtype=dtype)
            return [as_numpy(layer(inputs, training=True)) for _ in range(n_calls)]

    def dropout_training_stream(self, x, p, n_steps, seed, dtype):
        """``model.fit`` (its compiled train function, one batch per epoch) on ``Sequential([Dropout(p, seed),
        record, Dense])`` with SGD(learning_rate=0) and MSE; ``record`` is a pass-through layer that assigns its
        input, the dropout's output, to a variable at every step, read by a callback after each batch."""
        batch, features = x.shape
        outputs: list[np.ndarray] = []
        with floatx(dtype):
            record = _Record(dtype=dtype)
            network = keras.Sequential([keras.Input((features,), batch_size=batch, dtype=dtype),
                                        self.dropout_layer(p, seed, dtype), record,
                                        keras.layers.Dense(features, kernel_initializer="identity", dtype=dtype)])
            network.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mean_squared_error")
            grab = keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda step, logs: outputs.append(as_numpy(record.seen.numpy())))
            network.fit(tf.constant(x, dtype=dtype), tf.zeros((batch, features), dtype=dtype), batch_size=batch,
                        epochs=n_steps, shuffle=False, verbose=0, callbacks=[grab])
        return outputs
