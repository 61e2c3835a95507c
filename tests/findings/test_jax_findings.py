"""Each JAX/optax finding of docs/findings.md, re-run as its snippet: the defect must still be there.

A test passes while the framework still has the bug and fails with "fixed upstream: remove the excuse" once it is
gone. Skipped only where jax or optax is absent. x64 is enabled inside each test (as the JAX backend runs) and
restored afterwards, so that other tests in the same process are not affected.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="needs jax (pip install 'nnspec[jax]')")
optax = pytest.importorskip("optax", reason="needs optax (pip install 'nnspec[jax]')")
jnp = jax.numpy


@pytest.fixture(autouse=True)
def x64():
    """The findings' snippets start with jax.config.update("jax_enable_x64", True)."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def still_there(present: bool, issue: str, observed: object) -> None:
    """Fail with the fix-upstream message when a finding's defect no longer shows."""
    if not present:
        pytest.fail(f"fixed upstream: remove the excuse {issue} (docs/findings.md#{issue}); jax {jax.__version__}, "
                    f"optax {optax.__version__} now give {observed!r}")


def test_leaky_relu_grad_at_zero_is_one():
    grads = [float(jax.grad(lambda x, s=slope: jax.nn.leaky_relu(x, s))(0.0)) for slope in (0.2, 0.0)]
    still_there(grads == [1.0, 1.0], "jax-leaky-relu-grad-at-zero", grads)
    assert float(jax.grad(jax.nn.relu)(0.0)) == 0.0  # relu's own custom_jvp is right


def test_stax_dropout_p_one_grad_nan():
    from jax.example_libraries import stax

    _, apply = stax.Dropout(0.0)  # keep rate 0: p = 1
    grad = jax.grad(lambda x: apply((), x, rng=jax.random.key(0)).sum())(jnp.ones(3))
    still_there(bool(np.isnan(grad).all()), "jax-stax-dropout-p-one-grad-nan", grad)


def test_gelu_at_minus_infinity_is_nan():
    values = [float(jax.nn.gelu(-jnp.inf, approximate=form)) for form in (False, True)]
    still_there(all(np.isnan(values)), "jax-gelu-at-minus-infinity", values)
    assert float(jax.nn.gelu(jnp.inf, approximate=False)) == np.inf  # +inf is right


def test_gelu_grad_overflows():
    (exact,) = jax.vjp(lambda x: jax.nn.gelu(x, approximate=False), jnp.float32(1e38))[1](jnp.float32(8.0))
    tanh_form = jax.grad(jax.nn.gelu)(jnp.float32(2e19))
    still_there(bool(np.isnan(exact)), "jax-gelu-grad-overflow", exact)
    still_there(bool(np.isnan(tanh_form)), "jax-gelu-grad-overflow", tanh_form)


def test_silu_grad_overflows():
    up = jax.vjp(jax.nn.silu, jnp.float32(1.7e38))[1](jnp.float32(2.1))[0]
    down = jax.vjp(jax.nn.silu, jnp.float32(-1.7e38))[1](jnp.float32(2.1))[0]
    still_there(bool(np.isnan(up)), "jax-silu-grad-overflow", up)  # exact: 2.1 (to float32)
    still_there(bool(np.isnan(down)), "jax-silu-grad-overflow", down)  # exact: -0.0


def test_softplus_grad_cancels():
    grad = float(jax.grad(jax.nn.softplus)(33.28))
    still_there(grad == 1.0, "jax-softplus-grad-cancellation", grad)  # exact: 1 - 3.6e-15, 16 ulps away
    left = float(jax.grad(jax.nn.softplus)(jnp.float32(-14.5)))  # the difference x - softplus(x) rounds by u |x|
    exact_left = 1 / (1 + np.exp(14.5))
    still_there(abs(left - exact_left) > 4 * np.finfo(np.float32).eps / 2 * exact_left,
                "jax-softplus-grad-cancellation", left)
    bce = jax.grad(lambda x: optax.losses.sigmoid_binary_cross_entropy(x, 1.0))(jnp.float32(-7.0))
    exact = 1 / (1 + np.exp(7.0)) - 1
    still_there(abs(float(bce) - exact) > 3 * np.finfo(np.float32).eps / 2, "jax-softplus-grad-cancellation", bce)


def test_optax_huber_grad_cancels():
    _, vjp = jax.vjp(lambda p: optax.losses.huber_loss(p, 0.0, delta=1.0), jnp.float32(2.0**-12))
    grad, exact = float(vjp(jnp.float32(0.1))[0]), 2.0**-12 * float(np.float32(0.1))
    still_there(abs(grad - exact) > 100 * np.finfo(np.float32).eps * exact, "optax-huber-grad-cancellation", grad)


def test_optax_bce_nan_at_agreeing_infinite_logits():
    loss = optax.losses.sigmoid_binary_cross_entropy(jnp.array([jnp.inf, -jnp.inf]), jnp.array([1.0, 0.0]))
    still_there(bool(np.isnan(loss).all()), "optax-bce-logits-infinite", loss)


def test_optax_integer_labels_cancel():
    logits = jnp.array([[1e8, 1e8]], jnp.float32)
    loss = optax.losses.softmax_cross_entropy_with_integer_labels(logits, jnp.array([0]))
    still_there(float(loss[0]) == 0.0, "optax-cross-entropy-integer-labels-cancellation", loss)
    one_hot = optax.losses.softmax_cross_entropy(logits, jnp.array([[1.0, 0.0]], jnp.float32))
    assert float(one_hot[0]) == pytest.approx(np.log(2), rel=1e-6)  # the one-hot form is right


def test_optax_adagrad_drops_underflowing_update():
    opt = optax.adagrad(0.1, initial_accumulator_value=0.0, eps=1e-10)
    p = jnp.zeros(1, jnp.float32)
    update = float(opt.update(jnp.array([1e-20], jnp.float32), opt.init(p), p)[0][0])
    still_there(update == 0.0, "optax-adagrad-zero-accumulator", update)  # spec: -0.1 * 1e-20 / sqrt(1e-10)


def test_mean_overflows_float32():
    mean = float(jnp.mean(jnp.full(100, 2.2685e37, jnp.float32)))
    still_there(mean == np.inf, "torch-mean-overflow", mean)  # the JAX part of that finding: jax-mean-overflow
