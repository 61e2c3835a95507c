"""Self-tests of reference/gradient_clipping.py (docs/spec/gradient-clipping.md).

Oracles: the mpmath writing of the definitions (conformance/oracles/gradient_clipping.py) for finite gradients,
under the reference's own float64 bound; hand-worked values for the conventions, zero and non-finite gradients.

The reference's float64 bound, tighter than the room's: n squares and their sum over k tensors (numpy's sums per
tensor, then k more additions) are within gamma_{n+k+1} of S, the square root halves that and adds u, and the
eps addition, the quotient and the product add 3 u: within gamma_{n+k+5} of |expected| in all.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnspec.conformance.errormodel import gamma
from nnspec.conformance.gradient_clipping import gradient_lists
from nnspec.conformance.oracles.gradient_clipping import clipped
from nnspec.reference import dtypes, gradient_clipping

U64, TINY64 = 2.0 ** -53, np.finfo(np.float64).tiny
MODES = ("global_norm", "per_tensor_norm")


@given(grads=gradient_lists(dtypes.FLOAT64), mode=st.sampled_from(MODES), ratio=st.floats(0.02, 50.0),
       norm_type=st.sampled_from([2.0, math.inf]), eps=st.sampled_from([1e-6, 0.0]))
def test_norm_clipping_matches_the_mpmath_oracle(grads, mode, ratio, norm_type, eps):
    size = float(np.sqrt(sum(np.sum(g * g) for g in grads))) or 1.0
    hyper = {"max_norm": size * ratio, "norm_type": norm_type}
    ours = gradient_clipping.clip(grads, mode=mode, eps=eps, **hyper)
    exact = clipped(grads, mode, eps=eps, **hyper)
    n = sum(g.size for g in grads)
    for got, want in zip(ours, exact):
        assert np.all(np.abs(got - want) <= gamma(n + len(grads) + 5, U64) * np.abs(want) + TINY64), (got, want)


@given(grads=gradient_lists(dtypes.FLOAT64), value=st.floats(1e-3, 2.0 ** 30))
def test_value_clipping_matches_the_oracle_exactly(grads, value):
    for got, want in zip(gradient_clipping.clip(grads, mode="value", clip_value=value),
                         clipped(grads, "value", clip_value=value)):
        assert np.array_equal(got, want)


def test_global_and_per_tensor_norms_differ():
    grads = [np.array([3.0]), np.array([4.0])]
    both = gradient_clipping.clip(grads, mode="global_norm", max_norm=1.0, eps=0.0)
    each = gradient_clipping.clip(grads, mode="per_tensor_norm", max_norm=1.0, eps=0.0)
    np.testing.assert_allclose(np.concatenate(both), [0.6, 0.8], rtol=4 * U64)  # a few roundings of 3 / 5, 4 / 5
    np.testing.assert_allclose(np.concatenate(each), [1.0, 1.0], rtol=4 * U64)


def test_torch_eps_scales_a_norm_equal_to_the_threshold():
    grads = [np.array([3.0]), np.array([[4.0, 0.0]])]
    assert gradient_clipping.clip(grads, mode="global_norm", max_norm=5.0, eps=0.0)[0].tolist() == [3.0]
    assert gradient_clipping.clip(grads, mode="global_norm", max_norm=5.0)[0].tolist() == [3.0 * 5.0 / (5.0 + 1e-6)]


@pytest.mark.parametrize("mode", [*MODES, "value"])
def test_zero_gradients_stay_zero(mode):
    for eps in (1e-6, 0.0):
        out = gradient_clipping.clip([np.zeros(3), np.zeros((2, 2))], mode=mode, max_norm=1.0, clip_value=1.0, eps=eps)
        assert all(np.array_equal(t, np.zeros_like(t)) for t in out)


@pytest.mark.parametrize(("value", "scaled", "all_nan"), [
    (np.inf, [[0.0, np.nan], [[0.0, 0.0]]], [[np.nan, np.nan], [[np.nan, np.nan]]]),
    (np.nan, [[np.nan, np.nan], [[np.nan, np.nan]]], [[np.nan, np.nan], [[np.nan, np.nan]]]),
])
def test_non_finite_global_norm(value, scaled, all_nan):
    grads = [np.array([1.0, value]), np.array([[2.0, -3.0]])]
    for convention, expected in (("scale", scaled), ("all_nan", all_nan)):
        out = gradient_clipping.clip(grads, mode="global_norm", max_norm=1.0, nonfinite_global_norm=convention)
        assert all(np.array_equal(t, np.array(e), equal_nan=True) for t, e in zip(out, expected)), (convention, out)


def test_non_finite_per_tensor_norm_stays_in_its_tensor():
    out = gradient_clipping.clip([np.array([1.0, np.inf]), np.array([[0.0, 2.0]])], mode="per_tensor_norm",
                                 max_norm=1.0, eps=0.0, nonfinite_global_norm="all_nan")
    assert np.array_equal(out[0], [0.0, np.nan], equal_nan=True) and out[1].tolist() == [[0.0, 1.0]]


def test_value_clipping_keeps_nan_and_clamps_infinities():
    out = gradient_clipping.clip([np.array([np.nan, np.inf, -np.inf, 0.25])], mode="value", clip_value=0.5)
    assert np.array_equal(out[0], [np.nan, 0.5, -0.5, 0.25], equal_nan=True)


def test_infinity_norm_is_the_largest_magnitude():
    grads = [np.array([0.5, -4.0]), np.array([[2.0, 1.0]])]
    assert float(gradient_clipping.norm(grads, norm_type=math.inf)) == 4.0
    out = gradient_clipping.clip(grads, mode="global_norm", max_norm=2.0, norm_type=math.inf, eps=0.0)
    assert [t.tolist() for t in out] == [[0.25, -2.0], [[1.0, 0.5]]]


def test_inputs_are_not_modified_and_dtype_is_kept():
    grads = [np.array([3.0, 4.0], dtype=np.float32)]
    out = gradient_clipping.clip(grads, mode="global_norm", max_norm=1.0)
    assert grads[0].tolist() == [3.0, 4.0] and out[0].dtype == np.float32


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "norm", "max_norm": 1.0}, "mode must be one of"),
    ({"mode": "global_norm"}, "max_norm is required"),
    ({"mode": "value"}, "clip_value is required"),
    ({"mode": "global_norm", "max_norm": 0.0}, "max_norm must be in (0.0, inf]"),
    ({"mode": "value", "clip_value": -1.0}, "clip_value must be in (0.0, inf]"),
    ({"mode": "global_norm", "max_norm": math.inf}, "max_norm must be finite"),
    ({"mode": "global_norm", "max_norm": 1.0, "norm_type": 1.0}, "norm_type must be 2.0 or inf"),
    ({"mode": "global_norm", "max_norm": 1.0, "eps": 1e-8}, "eps must be one of"),
    ({"mode": "global_norm", "max_norm": 1.0, "nonfinite_global_norm": "skip"}, "nonfinite_global_norm must be"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=f"gradient_clipping.clip: {message[:20]}".replace("(", r"\(")):
        gradient_clipping.clip([np.ones(2)], **kwargs)


def test_bad_gradients_are_named():
    with pytest.raises(ValueError, match="grads must hold at least one tensor"):
        gradient_clipping.clip([], mode="value", clip_value=1.0)
    with pytest.raises(TypeError, match="grads must share one dtype"):
        gradient_clipping.clip([np.ones(2), np.ones(2, np.float32)], mode="value", clip_value=1.0)
    with pytest.raises(TypeError, match=r"grads\[0\] must be a real floating-point array"):
        gradient_clipping.clip([np.ones(2, dtype=int)], mode="value", clip_value=1.0)


def test_error_if_nonfinite_raises_like_torch():
    with pytest.raises(ValueError, match="error_if_nonfinite"):
        gradient_clipping.clip([np.array([np.nan])], mode="global_norm", max_norm=1.0, error_if_nonfinite=True)
