"""The torch known-issue predicates excuse exactly the elements the framework gets wrong, no more and no fewer.

Each case runs through the torch backend (the path the suite uses) on inputs chosen on both sides of a finding's
boundary, and compares the union of the known-issue masks for that primitive with the elements that are wrong:
NaN, or infinite where the spec's value (nnspec's reference) is not that infinity. A predicate that excuses a
correct element (the GELU excuse on an AVX2 machine, BCE-with-logits at +inf with target 0, a float16 MSE mean)
fails here, as does one that misses a wrong element.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs torch (pip install 'nnspec[torch]')")

from nnspec.adapters.torch.backend import TorchBackend  # noqa: E402  (after the skip)
from nnspec.reference import (
    catalogue,  # noqa: E402
    dtypes,  # noqa: E402
)

BACKEND = TorchBackend("cpu")
INF = np.inf


def excused(primitive: str, arrays, params, dtype: str) -> np.ndarray:
    """The union of the backend's forward known-issue masks for ``primitive``."""
    masks = [np.asarray(issue.where(arrays, params, dtype), dtype=bool) for issue in BACKEND.known_issues
             if issue.primitive == primitive and issue.kind == "forward"]
    return np.logical_or.reduce(np.broadcast_arrays(*masks)) if masks else np.asarray(False)


def wrong(primitive: str, arrays, params, dtype: str) -> np.ndarray:
    """Elements where torch returns NaN, or an infinity the spec's value is not."""
    observed = BACKEND.forward(primitive, arrays, params, dtype)
    with np.errstate(all="ignore"):
        expected = catalogue.get(primitive).module.forward(**arrays, **params)
    return (np.isnan(observed) & ~np.isnan(expected)) | (np.isinf(observed) & (observed != expected))


def assert_excused_exactly(primitive: str, arrays, params, dtype: str) -> None:
    bad, mask = wrong(primitive, arrays, params, dtype), excused(primitive, arrays, params, dtype)
    mask = np.broadcast_to(mask, np.shape(bad))
    assert np.array_equal(mask, bad), f"{primitive} {dtype} {arrays}: excused {mask.tolist()}, wrong {bad.tolist()}"


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("size", [1, 6])
def test_gelu_excuses_match_the_kernel(dtype, size):
    big = dtypes.get(dtype).max
    values = np.array([-INF, INF, big, big / 2, -1.0, 1.0])
    for start in range(0, 6, size):
        assert_excused_exactly("gelu", {"x": values[start:start + size]}, {"approximate": "none"}, dtype)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_gelu_tanh_excuses_only_minus_infinity(dtype):
    assert_excused_exactly("gelu_tanh", {"x": np.array([-INF, INF, 1.0])}, {"approximate": "tanh"}, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_bce_with_logits_excuses_only_the_nan_cases(dtype):
    logits = np.repeat([INF, -INF, 0.0], 3)
    target = np.tile([1.0, 0.0, 0.25], 3)
    assert_excused_exactly("binary_cross_entropy_with_logits", {"logits": logits, "target": target},
                           {"reduction": "none"}, dtype)


def _large_mean_cases(n: int, loss: float):
    """One case per loss whose n per-element losses are all about ``loss``."""
    rows = np.zeros((n, 2))
    rows[:, 1] = loss  # -log_softmax([0, loss])[0] is loss (+ 1e-44 for the values used here)
    return {
        "mean_squared_error": {"prediction": np.full(n, np.sqrt(loss)), "target": np.zeros(n)},
        "binary_cross_entropy_with_logits": {"logits": np.full(n, loss), "target": np.zeros(n)},
        "softmax_cross_entropy": {"logits": rows, "target": np.zeros(n, dtype=np.int64)},
        "softmax_cross_entropy_probs": {"logits": rows, "target": np.tile([1.0, 0.0], (n, 1))},
    }


@pytest.mark.parametrize("dtype, n, loss", [("float16", 2000, 100.0), ("float32", 100, 2.2685e37)])
def test_mean_overflow_excuse_follows_the_accumulation_type(dtype, n, loss):
    """float16: the cross-entropy family sums in float16 and overflows, MSE and BCE-with-logits sum in float32;
    float32: every mean overflows once the sum passes float32's range."""
    for primitive, arrays in _large_mean_cases(n, loss).items():
        assert_excused_exactly(primitive, arrays, {"reduction": "mean"}, dtype)
