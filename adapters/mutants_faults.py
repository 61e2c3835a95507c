"""Faulty backends: adapters that break the protocol's contract rather than the math, to show (and test) that
the verdict survives them (docs/adapters.md#contract, docs/report-schema.md#outcomes).

Each is the reference backend with one fault, so the tests need no framework (``TorchSigmoidInPlace`` imports
torch when it runs). ``tests/conformance/test_faulty_backends.py`` runs each through the real command line and
asserts the verdict: a non-zero exit, the named outcome, a report with the right status.
"""

from __future__ import annotations

import os
import time
from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import Capabilities, KnownIssue, UnsupportedError
from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.reference import dtypes

__all__ = ["SoftplusClipsItsInput", "ReluZeroesItsInput", "TorchSigmoidInPlace", "Float16ComputedInFloat64",
           "ReluHangs", "ReluAborts", "ReluExits", "ReluRaises", "ConstructorRaises", "CapabilitiesRaise",
           "MarkupInVersion", "ReluWrongButExcused", "AdamRejectsAmsgrad",
           "GeluInfWhenHuge", "GeluTwoBugs"]


class SoftplusClipsItsInput(ReferenceBackend):
    """softplus that clips x to [-20, 20] in place first: wrong for |x| > 20 (and it writes into its input)."""

    name = "fault-softplus-clips-input"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "softplus":
            np.clip(arrays["x"], -20, 20, out=arrays["x"])
        return super().forward(primitive, arrays, params, dtype)


class ReluZeroesItsInput(ReferenceBackend):
    """relu that returns zeros after zeroing x: passes if the suite reads x after the call."""

    name = "fault-relu-zeroes-input"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            arrays["x"][...] = 0
            return np.zeros_like(arrays["x"], dtype=dtype)
        return super().forward(primitive, arrays, params, dtype)


class TorchSigmoidInPlace(ReferenceBackend):
    """sigmoid through ``torch.from_numpy(x).sigmoid_()``: torch writes through a read-only numpy array."""

    name = "fault-torch-sigmoid-in-place"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "sigmoid" and dtype == "float64":
            import warnings

            import torch

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "The given NumPy array is not writable"
                return torch.from_numpy(arrays["x"]).sigmoid_().numpy().copy()
        return super().forward(primitive, arrays, params, dtype)


class Float16ComputedInFloat64(ReferenceBackend):
    """Every float16 cell computed in float64 and never rounded: more accurate than float16 can be."""

    name = "fault-float16-in-float64"

    def _cast(self, arrays, dtype):
        return super()._cast(arrays, "float64" if dtype == "float16" else dtype)

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        return super().vjp(primitive, arrays, params, grad_output, "float64" if dtype == "float16" else dtype)


class ReluHangs(ReferenceBackend):
    """relu that never returns (a deadlocked kernel)."""

    name = "fault-relu-hangs"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            while True:
                time.sleep(0.05)
        return super().forward(primitive, arrays, params, dtype)


class ReluAborts(ReferenceBackend):
    """relu that aborts the process (what a failed assertion in a C++ kernel does)."""

    name = "fault-relu-aborts"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            os.abort()
        return super().forward(primitive, arrays, params, dtype)


class ReluExits(ReferenceBackend):
    """relu that ends the process with ``os._exit(3)``."""

    name = "fault-relu-exits"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            os._exit(3)
        return super().forward(primitive, arrays, params, dtype)


class ReluRaises(ReferenceBackend):
    """relu whose kernel raises (an unimplemented dtype path, say): an error, never "failed 0"."""

    name = "fault-relu-raises"

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            raise RuntimeError("relu kernel: no implementation for this input")
        return super().forward(primitive, arrays, params, dtype)


class ConstructorRaises(ReferenceBackend):
    """A backend whose constructor fails (a missing driver, say)."""

    name = "fault-constructor-raises"

    def __init__(self, device: str = "cpu", **options: str) -> None:
        raise RuntimeError("driver not found")


class CapabilitiesRaise(ReferenceBackend):
    """A backend whose capabilities() fails."""

    name = "fault-capabilities-raise"

    def capabilities(self) -> Capabilities:
        raise RuntimeError("capabilities are not ready")


class MarkupInVersion(ReferenceBackend):
    """A backend whose strings look like terminal markup (a version string "2.1.0[/]"), with a very long name."""

    name = "fault-" + "very-long-name-" * 20 + "[/]"

    def environment(self) -> dict[str, object]:
        return {"framework": "markup[/]", "version": "2.1.0[/]", "device_name": "[bold]cpu"}

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            return -super().forward(primitive, arrays, params, dtype)
        return super().forward(primitive, arrays, params, dtype)


def _everywhere(arrays, params, dtype):
    return np.ones(np.shape(arrays["x"]), dtype=bool)


class ReluWrongButExcused(ReferenceBackend):
    """relu that is wrong everywhere, with a known issue that excuses every element: the cell must read
    "excused" (nothing was really checked), never "passed"."""

    name = "fault-relu-wrong-but-excused"
    known_issues = (KnownIssue("fault-relu-everywhere", "relu", "forward", _everywhere,
                               "relu returns x + 1", "docs/report-schema.md#outcomes"),)

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu":
            return super().forward(primitive, arrays, params, dtype) + np.asarray(1, dtype=dtype)
        return super().forward(primitive, arrays, params, dtype)


class AdamRejectsAmsgrad(ReferenceBackend):
    """Adam without AMSGrad: every such draw is rejected as unsupported; the cell must show how many."""

    name = "fault-adam-rejects-amsgrad"

    def capabilities(self) -> Capabilities:
        caps = super().capabilities()
        return Capabilities(caps.primitives, caps.dtypes, caps.devices, caps.conventions, caps.features,
                            MappingProxyType({"adam": caps.optimizers["adam"]}))

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        if hyper.get("amsgrad"):
            raise UnsupportedError("fault: adam has no amsgrad")
        return super().optimizer_step(optimizer, hyper, param, grad, state, dtype)

    def optimizer_trajectory(self, optimizer, hyper, param, grads, dtype):
        if hyper.get("amsgrad"):
            raise UnsupportedError("fault: adam has no amsgrad")
        return super().optimizer_trajectory(optimizer, hyper, param, grads, dtype)


class GeluInfWhenHuge(ReferenceBackend):
    """gelu that returns x / 2 for |x| >= max / 16 (its Phi(x) lost to an overflowing intermediate): one bug, one
    input class ("huge"), so one failure per test (docs/report-schema.md#distinct-failures)."""

    name = "fault-gelu-inf-when-huge"

    def forward(self, primitive, arrays, params, dtype):
        y = super().forward(primitive, arrays, params, dtype)
        if primitive != "gelu":
            return y
        x = np.asarray(arrays["x"], dtype=np.float64)
        huge = np.isfinite(x) & (np.abs(x) >= dtypes.get(dtype).max / 16)
        return np.where(huge, x / 2, y).astype(y.dtype)


class GeluTwoBugs(GeluInfWhenHuge):
    """gelu with two distinct bugs: also NaN for x <= -40 (a naive tail, -inf included), so the forward test
    fails in two input classes ("normal" and "huge") and must report both, each with its own replayable case."""

    name = "fault-gelu-two-bugs"

    def forward(self, primitive, arrays, params, dtype):
        y = super().forward(primitive, arrays, params, dtype)
        if primitive != "gelu":
            return y
        return np.where(np.asarray(arrays["x"], dtype=np.float64) <= -40, np.nan, y).astype(y.dtype)


class Float16ForActivationsOnly(ReferenceBackend):
    """A CPU build with float16 kernels for relu and sigmoid only: declared per primitive (``dtypes_for``), so
    every other float16 cell is unsupported, not failed; relu in float16 is still checked (and here wrong)."""

    name = "fault-float16-partial"

    def capabilities(self) -> Capabilities:
        caps = super().capabilities()
        narrow = {p: ("float64", "float32") for p in caps.primitives if p not in ("relu", "sigmoid")}
        return Capabilities(caps.primitives, caps.dtypes, caps.devices, caps.conventions, caps.features,
                            caps.optimizers, MappingProxyType(narrow))

    def forward(self, primitive, arrays, params, dtype):
        if primitive == "relu" and dtype == "float16":
            return super().forward(primitive, {"x": np.abs(arrays["x"])}, params, dtype)  # relu(|x|)
        return super().forward(primitive, arrays, params, dtype)
