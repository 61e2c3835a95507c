"""Each TensorFlow/Keras finding of docs/findings.md, re-run as its snippet: the defect must still be there.

A test passes while the framework still has the bug and fails with "fixed upstream: remove the excuse" once it is
gone. Skipped only where tensorflow or keras is absent. Nothing here changes Keras's global state (no set_floatx).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow", reason="needs tensorflow (pip install 'nnspec[tensorflow]')")
keras = pytest.importorskip("keras", reason="needs keras 3 (pip install 'nnspec[tensorflow]')")

F32_ULP_BELOW_ONE = 2.0**-24  # the spacing of float32 numbers in [0.5, 1)


def still_there(present: bool, issue: str, observed: object) -> None:
    """Fail with the fix-upstream message when a finding's defect no longer shows."""
    if not present:
        pytest.fail(f"fixed upstream: remove the excuse {issue} (docs/findings.md#{issue}); tensorflow "
                    f"{tf.__version__}, keras {keras.__version__} now give {observed!r}")


def test_float64_hyperparameters_rounded_to_float32():
    still_there(tf.cast(0.9, tf.float64).numpy() != 0.9, "keras-float64-hyperparameters-in-float32",
                tf.cast(0.9, tf.float64).numpy())
    assert tf.cast(np.float64(0.9), tf.float64).numpy() == 0.9  # the cast itself is exact from a float64
    v = keras.Variable(np.zeros(1), dtype="float64")
    keras.optimizers.Adam(learning_rate=0.1).apply_gradients([(tf.ones(1, tf.float64), v)])
    lr, beta_1, beta_2, eps = 0.1, 0.9, 0.999, 1e-7  # Keras's defaults but the rate; Keras's update, in float64:
    m, v_, alpha = 1 - beta_1, 1 - beta_2, lr * np.sqrt(1 - beta_2) / (1 - beta_1)  # one step from 0 with g = 1
    exact = -m * alpha / (np.sqrt(v_) + eps)
    relative = abs(v.numpy()[0] - exact) / abs(exact)
    still_there(relative > 1e-8, "keras-float64-hyperparameters-in-float32", v.numpy()[0])  # float64 u is 1.1e-16


def test_gelu_float64_uses_float32_constants():
    y = tf.nn.gelu(tf.constant(1.0, tf.float64)).numpy()
    still_there(abs(y - 0.8413447460685429) > 1e-9, "tf-gelu-float32-constants", y)


def test_leaky_relu_alpha_is_float32():
    y = tf.nn.leaky_relu(tf.constant(-1.0, tf.float64), alpha=0.2).numpy()
    still_there(y == float(np.float32(-0.2)), "tf-leaky-relu-alpha-float32", y)


def test_gelu_at_minus_infinity_is_nan():
    x = tf.constant([-np.inf, np.inf])
    for approximate in (False, True):
        y = tf.nn.gelu(x, approximate=approximate).numpy()
        still_there(bool(np.isnan(y[0])), "tf-gelu-at-infinity", y)
        assert y[1] == np.inf  # +inf is right


def test_gelu_grad_overflows():
    x = tf.constant([np.finfo(np.float32).max / 2] * 2)
    upstream = tf.constant([3.5449074, 3.5449078])  # |g x| = 1.7724537 max (finite) and 1.7724539 max (NaN)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.gelu(x)
    grad = tape.gradient(y, x, output_gradients=upstream).numpy()
    still_there(np.isfinite(grad[0]) and np.isnan(grad[1]), "tf-gelu-grad-overflow", grad)


def test_sigmoid_cross_entropy_nan_at_infinite_logits():
    x = tf.constant([np.inf] * 3 + [-np.inf] * 3)
    z = tf.constant([1.0, 0.0, 0.3] * 2)
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x).numpy()
    still_there(np.isnan(loss).tolist() == [True, True, True, False, True, False],
                "tf-sigmoid-cross-entropy-infinite-logits", loss)


def test_early_stopping_improvement_postpones_stop():
    """A convention, not a bug: if Keras adopts nnspec's rule the declaration must go."""
    callback = keras.callbacks.EarlyStopping(monitor="loss", baseline=0.5, patience=2)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")  # compile() gives the model its stop_training flag
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, loss in enumerate([0.9, 0.8, 0.7, 0.6]):
        callback.on_epoch_end(epoch, {"loss": loss})
    still_there(not model.stop_training, "keras-early-stopping-baseline", callback.stopped_epoch)


def _bfloat16_steps(name: str) -> np.ndarray:
    v = keras.Variable(np.ones(3), dtype="bfloat16")
    opt = getattr(keras.optimizers, name)(learning_rate=0.1)
    for _ in range(3):
        opt.apply_gradients([(keras.ops.ones(3, dtype="bfloat16"), v)])
    return np.asarray(v.numpy(), dtype=np.float32)


def test_bfloat16_adam_never_moves_and_nadam_is_nan():
    assert float(tf.cast(0.999, tf.bfloat16)) == 1.0  # the cause: beta_2 = 0.999 is 1 in bfloat16
    moved = {name: _bfloat16_steps(name) for name in ("Adam", "AdamW", "Nadam", "Adamax")}
    still_there(np.all(moved["Adam"] == 1.0), "keras-bfloat16-beta2-rounds-to-one", moved)
    still_there(np.all(moved["AdamW"] == 1.0), "keras-bfloat16-beta2-rounds-to-one", moved)  # decay 0.004 rounds away
    still_there(bool(np.isnan(moved["Nadam"]).all()), "keras-bfloat16-beta2-rounds-to-one", moved)
    assert np.all(moved["Adamax"] < 0.8)  # Adamax does not use beta_2 that way, and trains


def test_tanh_float32_exceeds_four_ulps():
    """The worst input of the exhaustive sweep and one point of the early saturation (docs/findings.md)."""
    x = np.array([6.533985, 7.9375], np.float32)
    y = tf.math.tanh(tf.constant(x)).numpy().astype(np.float64)
    ulps = np.abs(y - np.tanh(x.astype(np.float64))) / F32_ULP_BELOW_ONE
    still_there(bool(np.all(ulps > 4)) and y[1] == 1.0, "tf-tanh-float32-accuracy", ulps)


def test_float32_softmax_keeps_finite_entries_of_a_nan_row():
    y = tf.nn.softmax(tf.constant([[float("nan"), 0.0, 1.0]], tf.float32)).numpy()[0]
    still_there(bool(np.isnan(y[0]) and not np.isnan(y[1:]).any()), "tf-softmax-nan-row-float32", y)
    assert np.isnan(tf.nn.softmax(tf.constant([[float("nan"), 0.0]], tf.float64)).numpy()).all()


def test_keras_bce_gradient_at_nan_probability_is_zero():
    p = tf.Variable([float("nan"), 0.5], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = keras.losses.binary_crossentropy(tf.constant([1.0, 0.0], tf.float64), p)
    grad = tape.gradient(loss, p).numpy()
    still_there(grad[0] == 0.0, "keras-bce-grad-at-nan", grad)


def test_cross_entropy_gradient_with_nan_target_is_finite_elsewhere():
    logits = tf.Variable([[0.0, 1.0, 2.0]], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.nn.softmax_cross_entropy_with_logits(labels=[[float("nan"), 0.5, 0.5]], logits=logits)
    grad = tape.gradient(loss, logits).numpy()[0]
    still_there(bool(np.isfinite(grad[1:]).all()), "tf-cross-entropy-grad-nan-target", grad)


def test_weighted_cross_entropy_gradient_at_zero_logit():
    """tf.nn.weighted_cross_entropy_with_logits differentiates max(-x, 0) and |x| at x = 0 with slope 0: the
    gradient there is 1 - z, not (1 - z - q z) / 2 (docs/findings.md#tf-weighted-cross-entropy-grad-at-zero)."""
    x = tf.constant([0.0, 0.0, 0.0], tf.float64)
    z = tf.constant([0.0, 1.0, 0.5], tf.float64)
    q = tf.constant([0.0, 2.0, 3.0], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.nn.weighted_cross_entropy_with_logits(z, x, q)
    grad = tape.gradient(loss, x).numpy()
    exact = np.array([0.5, -1.0, -0.5])  # ((1 - z) - q z) sigmoid(0), sigmoid(0) = 1/2
    still_there(bool(np.any(grad != exact)), "tf-weighted-cross-entropy-grad-at-zero", grad)
    assert np.array_equal(grad, [1.0, 0.0, 0.5])  # 1 - z: the kinks' zero slopes


def test_weighted_cross_entropy_gradient_cancels_for_small_targets():
    """At a logit x < 0 and a small soft target z, TensorFlow's gradient (1 - z) - l (1 - sigmoid(x)) rounds two
    terms near 1 and cancels them (docs/findings.md#tf-weighted-cross-entropy-grad-cancellation)."""
    x0, z0, q = -13.386528015136719, 3.1894529683995643e-08, 0.25  # both exact in float32
    x, z = tf.constant([x0], tf.float32), tf.constant([z0], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.nn.weighted_cross_entropy_with_logits(z, x, q)
    grad = float(tape.gradient(loss, x).numpy()[0])
    sigmoid = 1 / (1 + np.exp(-x0))
    exact = (1 + (q - 1) * z0) * sigmoid - q * z0  # 1.5277181977751733e-06
    still_there(abs(grad - exact) > 1000 * F32_ULP_BELOW_ONE * exact, "tf-weighted-cross-entropy-grad-cancellation",
                grad)
    x_zero = tf.constant([x0], tf.float32)
    with tf.GradientTape() as tape:  # with z = 0 both terms are exactly 1: the same logit is right
        tape.watch(x_zero)
        loss = tf.nn.weighted_cross_entropy_with_logits(tf.zeros(1), x_zero, q)
    assert abs(float(tape.gradient(loss, x_zero).numpy()[0]) - sigmoid) < 4 * F32_ULP_BELOW_ONE * sigmoid


def test_sparse_cross_entropy_rejects_one_class_with_spatial_dimensions():
    """Keras squeezes the class axis of (N, d1, 1) logits and then rejects the (N, d1) labels
    (docs/findings.md#keras-sparse-cross-entropy-one-class-spatial); without spatial dimensions one class works."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss(np.zeros(3), np.zeros((3, 1), np.float32))) == 0.0
    try:
        observed = float(loss(np.zeros((2, 2)), np.zeros((2, 2, 1), np.float32)))
    except ValueError as error:
        assert "must have rank" in str(error)
        return
    still_there(False, "keras-sparse-cross-entropy-one-class-spatial", observed)


def test_sigmoid_float32_exceeds_four_ulps():
    """Eigen's vectorised float32 logistic (8 or more elements) is 4.6 ulps off at x = -14.463293; its scalar path
    (fewer than 8) is accurate (docs/findings.md#tf-sigmoid-float32-accuracy)."""
    x = np.float32(-14.463293075561523)
    observed = float(tf.math.sigmoid(tf.constant([x] * 8)).numpy()[0])
    exact = 1 / (1 + np.exp(-np.float64(x)))  # 5.232044147997661e-07
    ulp = 2.0 ** (np.floor(np.log2(exact)) - 23)
    still_there(abs(observed - exact) > 4 * ulp, "tf-sigmoid-float32-accuracy", observed)


def test_silu_float32_inherits_the_sigmoid_error():
    """tf.nn.silu multiplies x by the same vectorised logistic: 4.6 ulps off at x = -14.445958, the worst of the
    20,038 float32 inputs a full sweep found over budget (docs/findings.md#tf-sigmoid-float32-accuracy)."""
    x = np.float32(-14.445958137512207)
    observed = float(tf.nn.silu(tf.constant([x] * 8)).numpy()[0])
    exact = float(x) / (1 + np.exp(-np.float64(x)))  # -7.690351951250446e-06
    ulp = 2.0 ** (np.floor(np.log2(abs(exact))) - 23)
    still_there(abs(observed - exact) > 4 * ulp, "tf-sigmoid-float32-accuracy", observed)
