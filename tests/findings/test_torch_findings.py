"""Each PyTorch finding of docs/findings.md, re-run as its snippet: the defect must still be there.

A test here passes while the framework still has the bug and fails, saying "fixed upstream: remove the excuse",
once it is gone (a strict expected failure, as PyTorch's own test suite marks known bugs): then the known-issue
entry named in the message must be deleted so that the suite checks those inputs again. Skipped only where torch
or the hardware a finding needs (AVX-512, CUDA) is absent; the skip says which.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch (pip install 'nnspec[torch]')")
F = torch.nn.functional
inf = float("inf")

from nnspec.adapters.torch.known_issues import onednn_avx512_gelu  # noqa: E402  (after the skip)

needs_avx512 = pytest.mark.skipif(not onednn_avx512_gelu(),
                                  reason="needs AVX-512 (oneDNN's jit:avx512_core GELU kernel); this CPU: "
                                         f"{torch.backends.cpu.get_cpu_capability()}")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def still_there(present: bool, issue: str, observed: object) -> None:
    """Fail with the fix-upstream message when a finding's defect no longer shows."""
    if not present:
        pytest.fail(f"fixed upstream: remove the excuse {issue} (docs/findings.md#{issue}); torch "
                    f"{torch.__version__} now gives {observed!r}")


def test_gelu_at_minus_infinity_is_nan():
    """-inf * Phi(-inf) = -inf * 0, in every dtype and both forms, with ATen's own kernel (one element)."""
    outputs = [F.gelu(torch.tensor([-inf], dtype=dtype), approximate=form).item()
               for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16) for form in ("none", "tanh")]
    still_there(all(math.isnan(y) for y in outputs), "torch-gelu-at-infinity", outputs)


def test_gelu_derivative_at_infinities_is_nan():
    x = torch.tensor([-inf, inf], requires_grad=True)
    F.gelu(x).sum().backward()
    still_there(bool(torch.isnan(x.grad).all()), "torch-gelu-at-infinity", x.grad.tolist())


def test_gelu_gradient_takes_the_approximate_erf_on_vectors():
    """At x = 0.043225884 the exact derivative Phi(x) + x phi(x) is 0.53446779404682858 (mpmath, 30 digits); the
    vectorised kernel (two elements or more) gives 0.53446811, 5.4 ulps off, the scalar one (one element) 0.4
    (docs/findings.md#torch-gelu-grad-vectorised-erf)."""
    exact = 0.53446779404682858
    ulp = 2.0 ** -24  # float32's spacing in [0.5, 1)
    x = torch.full((2,), 0.043225884437561035, requires_grad=True)
    F.gelu(x).sum().backward()
    still_there(abs(x.grad[0].item() - exact) > 5 * ulp, "torch-gelu-grad-vectorised-erf", x.grad.tolist())
    one = torch.full((1,), 0.043225884437561035, requires_grad=True)
    F.gelu(one).sum().backward()
    assert abs(one.grad[0].item() - exact) < ulp  # one element takes std::erf: right, not excused


@needs_avx512
def test_gelu_at_plus_infinity_is_nan_on_onednn_avx512():
    y = F.gelu(torch.tensor([inf, 1.0]))
    still_there(math.isnan(y[0].item()), "torch-gelu-at-infinity", y.tolist())
    assert F.gelu(torch.tensor([inf])).item() == inf  # one element takes ATen's kernel: right, not excused


@needs_avx512
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gelu_overflows_on_onednn_avx512(dtype):
    big = torch.finfo(dtype).max
    y = F.gelu(torch.tensor([big, 1.0], dtype=dtype))
    still_there(y[0].item() == inf, "torch-gelu-overflow", y.tolist())
    assert F.gelu(torch.tensor([big], dtype=dtype)).item() == pytest.approx(big, rel=1e-2)  # ATen's kernel: fine


_AVX2_PROBE = """
import torch, torch.nn.functional as F
from nnspec.adapters.torch.known_issues import onednn_avx512_gelu
y = F.gelu(torch.tensor([3.4028234e38, float("inf"), 1.0]))
print(onednn_avx512_gelu(), y[0].item(), y[1].item())
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="needs an x86-64 CPU")
def test_gelu_excuse_is_off_where_onednn_runs_avx2():
    """The predicate's other side: with oneDNN held to AVX2 the kernel neither overflows nor gives NaN at +inf,
    and the excuse is off (run in a fresh process, since oneDNN reads ONEDNN_MAX_CPU_ISA once)."""
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", _AVX2_PROBE], env=env, capture_output=True, text=True, check=True,
                         timeout=60).stdout.split()
    assert out == ["False", "3.4028234663852886e+38", "inf"]


def test_gelu_tanh_grad_overflows():
    x = torch.tensor([1.8446744e19], requires_grad=True)
    F.gelu(x, approximate="tanh").backward()
    still_there(math.isnan(x.grad.item()), "torch-gelu-tanh-grad-overflow", x.grad.tolist())


def test_bce_with_logits_nan_at_infinite_logits():
    x = torch.tensor([inf, inf, inf, -inf, -inf, -inf])
    y = torch.tensor([1.0, 0.0, 0.3, 1.0, 0.0, 0.3])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    nan = torch.isnan(loss).tolist()
    still_there(nan == [True, False, False, True, True, True], "torch-bce-logits-infinite", loss.tolist())
    assert loss[1].item() == loss[2].item() == inf  # the cases it gets right are not excused


def test_mean_overflows_float32():
    losses = F.binary_cross_entropy_with_logits(torch.full((100,), 2.2685e37), torch.zeros(100))
    still_there(losses.item() == inf, "torch-mean-overflow", losses.item())


def test_cross_entropy_mean_overflows_float16():
    logits = torch.zeros(10000, 2, dtype=torch.float16)
    logits[:, 1] = 10
    loss = F.cross_entropy(logits, torch.zeros(10000, dtype=torch.long))
    still_there(loss.item() == inf, "torch-mean-overflow", loss.item())
    assert torch.ones(100000, dtype=torch.float16).mean().item() == 1.0  # pytorch#91597 stays fixed


def test_bce_backward_float16_nan_at_edges():
    p = torch.tensor([0.0, 1.0], dtype=torch.float16, requires_grad=True)
    loss = F.binary_cross_entropy(p, torch.tensor([0.0, 1.0], dtype=torch.float16), reduction="sum")
    (grad,) = torch.autograd.grad(loss, p)
    still_there(bool(torch.isnan(grad).all()), "torch-bce-grad-float16-floor", grad.tolist())


def test_centered_rmsprop_bfloat16_goes_nan():
    """The findings page's default-hyperparameter run: bfloat16 goes NaN within 500 steps, float32 does not."""
    ends = {}
    for dtype in (torch.bfloat16, torch.float32):
        generator = torch.Generator().manual_seed(0)
        p = torch.nn.Parameter(torch.zeros(64, dtype=dtype))
        opt = torch.optim.RMSprop([p], lr=1e-3, centered=True)
        for _ in range(500):
            p.grad = (1 + 0.2 * torch.randn(64, generator=generator)).to(dtype)
            opt.step()
        ends[dtype] = bool(p.isnan().any())
    still_there(ends[torch.bfloat16], "torch-centered-rmsprop-negative-variance", ends)
    assert not ends[torch.float32]


def test_label_smoothing_float16_overflows_from_7358_classes():
    classes = 7358
    largest = float(np.finfo(np.float16).max)
    assert classes * math.log(classes) > largest > (classes - 1) * math.log(classes - 1)  # K ln K passes 65504
    loss = F.cross_entropy(torch.zeros(1, classes, dtype=torch.float16), torch.tensor([0]), label_smoothing=0.1)
    still_there(loss.item() == inf, "torch-label-smoothing-sum-overflow", loss.item())


def test_nadam_keeps_mu_product_in_float32():
    """A declared precision, not a bug: the declaration (scalar_dtype float32) must go when torch changes it."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.NAdam([p], lr=0.01)
    p.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    dtype = opt.state[p]["mu_product"].dtype
    still_there(dtype == torch.float32, "torch-nadam-mu-product", dtype)


@needs_cuda
def test_fused_cuda_adam_moment_weight_float32():
    p = torch.nn.Parameter(torch.zeros(1, device="cuda"))
    opt = torch.optim.Adam([p], lr=0.1, fused=True)
    p.grad = torch.ones(1, device="cuda")
    opt.step()
    v = opt.state[p]["exp_avg_sq"].item()
    still_there(v == float(np.float32(1) - np.float32(0.999)), "torch-fused-adam-one-minus-beta2", v)


def test_bce_rejects_a_nan_probability():
    try:
        value = torch.nn.functional.binary_cross_entropy(torch.tensor([float("nan"), 0.5]), torch.tensor([1.0, 0.0]))
    except RuntimeError as error:
        assert "between 0 and 1" in str(error)
        return
    still_there(False, "torch-bce-rejects-nan", value)
