"""How the reference's activations treat their inputs: dtypes, aliasing, extreme values and bad arguments.

Spec: docs/spec/activations.md and docs/spec/conventions.md#nan-and-inf.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.reference.activations import (
    gelu,
    identity,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)

# (module, keyword arguments): every public variant, the rowwise ones along their default last axis
VARIANTS = [
    (identity, {}),
    (sigmoid, {}),
    (tanh, {}),
    (relu, {}),
    (leaky_relu, {"negative_slope": -0.5}),
    (softplus, {}),
    (softplus, {"threshold": 20.0}),
    (gelu, {"approximate": "none"}),
    (gelu, {"approximate": "tanh"}),
    (softmax, {"axis": 0}),
    (log_softmax, {}),
]
IDS = [f"{module.__name__.rsplit('.', 1)[-1]}-{'-'.join(map(str, params.values()))}" for module, params in VARIANTS]
ELEMENTWISE = [(m, p) for m, p in VARIANTS if m not in (softmax, log_softmax)]
ELEMENTWISE_IDS = [i for (m, _), i in zip(VARIANTS, IDS) if m not in (softmax, log_softmax)]


def _short_name(module) -> str:
    return module.__name__.rsplit(".", 1)[-1]


@pytest.mark.parametrize(("module", "params"), VARIANTS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_activation_dtype_preserved(module, params, dtype):
    x = np.array([[-3.0, -0.5], [0.0, 2.5]], dtype=dtype)
    assert module.forward(x, **params).dtype == dtype
    assert module.backward(x, np.ones_like(x), **params).dtype == dtype
    assert module.backward(x, np.ones(x.shape, np.float64), **params).dtype == np.float64  # the wider one


@pytest.mark.parametrize(("module", "params"), VARIANTS, ids=IDS)
@given(x=hnp.arrays(np.float64, (3, 2), elements=st.floats(-1e3, 1e3)))
def test_activation_inputs_not_mutated(module, params, x):
    grad_output = x[::-1].copy()
    x_before, grad_before = x.copy(), grad_output.copy()
    module.forward(x, **params)
    module.backward(x, grad_output, **params)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(grad_output, grad_before)


@pytest.mark.parametrize(("module", "params"), VARIANTS, ids=IDS)
def test_activation_result_is_a_new_array(module, params):
    x = np.array([[1.0, -1.0], [0.5, 2.0]])
    y = module.forward(x, **params)
    y[...] = 7.0
    assert x[0, 0] == 1.0


@pytest.mark.parametrize(("module", "params"), ELEMENTWISE, ids=ELEMENTWISE_IDS)
@pytest.mark.parametrize("magnitude", [1e300, np.finfo(np.float64).max])
def test_elementwise_no_overflow_at_huge_inputs(module, params, magnitude):
    x = np.array([-magnitude, magnitude])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning either
        y = module.forward(x, **params)
        grad = module.backward(x, np.ones_like(x), **params)
    assert np.isfinite(y).all()
    assert np.isfinite(grad).all()


@pytest.mark.parametrize(("module", "params"), ELEMENTWISE, ids=ELEMENTWISE_IDS)
@pytest.mark.parametrize("shape", [(0,), (2, 0)])
def test_elementwise_accepts_empty_arrays(module, params, shape):
    x = np.zeros(shape)
    assert module.forward(x, **params).shape == shape
    assert module.backward(x, x, **params).shape == shape


@pytest.mark.parametrize(("module", "params"), VARIANTS, ids=IDS)
@pytest.mark.parametrize("bad", [np.array([1, 2]), np.array([True, False]), np.array([1j, 2j])], ids=str)
def test_activation_rejects_non_float_input(module, params, bad):
    name = _short_name(module)
    with pytest.raises(TypeError, match=rf"{name}\.forward: x must be a real floating-point array"):
        module.forward(bad, **params)
    with pytest.raises(TypeError, match=rf"{name}\.backward: grad_output must be a real floating-point array"):
        module.backward(np.array([1.0, 2.0]), bad, **params)


@pytest.mark.parametrize(("module", "params"), VARIANTS, ids=IDS)
def test_activation_rejects_grad_output_of_another_shape(module, params):
    name = _short_name(module)
    with pytest.raises(ValueError, match=rf"{name}\.backward: grad_output must have the same shape as x"):
        module.backward(np.zeros((2, 3)), np.zeros((3, 2)), **params)


def test_leaky_relu_rejects_bad_negative_slope():
    x = np.array([1.0])
    with pytest.raises(ValueError, match=r"leaky_relu\.forward: negative_slope must be finite, got inf"):
        leaky_relu.forward(x, negative_slope=np.inf)
    with pytest.raises(TypeError, match=r"leaky_relu\.backward: negative_slope must be a real number, got str"):
        leaky_relu.backward(x, x, negative_slope="0.1")


def test_softplus_rejects_bad_threshold():
    x = np.array([1.0])
    with pytest.raises(ValueError, match=r"softplus\.forward: threshold must be finite, got nan"):
        softplus.forward(x, threshold=float("nan"))
    with pytest.raises(TypeError, match=r"softplus\.backward: threshold must be a real number, got bool"):
        softplus.backward(x, x, threshold=True)


def test_gelu_rejects_unknown_approximation():
    x = np.array([1.0])
    with pytest.raises(ValueError, match=r"gelu\.forward: approximate must be one of 'none', 'tanh', got 'erf'"):
        gelu.forward(x, approximate="erf")
    with pytest.raises(ValueError, match=r"gelu\.backward: approximate must be one of"):
        gelu.backward(x, x, approximate=None)


@pytest.mark.parametrize("module", [softmax, log_softmax], ids=_short_name)
def test_rowwise_rejects_zero_dimensional_input(module):
    name = _short_name(module)
    with pytest.raises(ValueError, match=rf"{name}\.forward: x must have at least 1 dimension"):
        module.forward(np.array(1.0))
    with pytest.raises(ValueError, match=rf"{name}\.backward: x must have at least 1 dimension"):
        module.backward(np.array(1.0), np.array(1.0))


@pytest.mark.parametrize("module", [softmax, log_softmax], ids=_short_name)
def test_rowwise_rejects_empty_axis(module):
    name = _short_name(module)
    with pytest.raises(ValueError, match=rf"{name}\.forward: x must have at least one entry along axis 1"):
        module.forward(np.zeros((3, 0)))
    assert module.forward(np.zeros((0, 3))).shape == (0, 3)  # no rows is fine


@pytest.mark.parametrize("module", [softmax, log_softmax], ids=_short_name)
def test_rowwise_rejects_bad_axis(module):
    name = _short_name(module)
    with pytest.raises(ValueError, match=rf"{name}\.forward: axis must be in \[-2, 1\] for a 2-d array, got 2"):
        module.forward(np.zeros((2, 2)), axis=2)
    with pytest.raises(TypeError, match=rf"{name}\.backward: axis must be an int, got float"):
        module.backward(np.zeros((2, 2)), np.zeros((2, 2)), axis=1.0)
