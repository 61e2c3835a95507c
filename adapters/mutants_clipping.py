"""Planted bugs in gradient clipping, each a mistake training loops really make with PyTorch's own functions.

Run one with ``nnspec run --backend nnspec.adapters.mutants_clipping:TorchClipsEachParameterAlone --profile ci
-k clipping``; tests/conformance/test_clipping_bugs.py asserts that each fails that run, in the test it names.
"""

from __future__ import annotations

from types import MappingProxyType

from nnspec.adapters.torch.backend import TorchBackend
from nnspec.adapters.torch.model import as_numpy

__all__ = ["MUTANTS", "TorchClipsEachParameterAlone", "TorchClampsOnlyFromAbove"]


class TorchClipsEachParameterAlone(TorchBackend):
    """``for p in model.parameters(): clip_grad_norm_(p, max_norm)`` where the global norm is asked: each tensor is
    clipped by its own norm, so the list's norm may stay above max_norm (up to sqrt(k) times it)."""

    name = "mutant-torch-clipping-each-parameter-alone"

    def clip_gradients(self, mode, grads, hyper, dtype):
        return super().clip_gradients("per_tensor_norm" if mode == "global_norm" else mode, grads, hyper, dtype)


class TorchClampsOnlyFromAbove(TorchBackend):
    """``g.clamp_(max=clip_value)`` in a hand-written value clipping: large negative gradients pass unclipped."""

    name = "mutant-torch-clipping-clamps-only-from-above"

    def clip_gradients(self, mode, grads, hyper, dtype):
        if mode != "value":
            return super().clip_gradients(mode, grads, hyper, dtype)
        return [as_numpy(self._tensor(g, dtype).clamp(max=hyper["clip_value"])) for g in grads]


#: mutant -> the tests of conformance/test_gradient_clipping.py that it must fail
MUTANTS = MappingProxyType({
    TorchClipsEachParameterAlone: ("test_gradient_clipping_global_norm_matches_reference",
                                   "test_gradient_clipping_nonfinite_norm", "test_gradient_clipping_at_the_threshold",
                                   "test_gradient_clipping_infinity_norm"),
    TorchClampsOnlyFromAbove: ("test_gradient_clipping_by_value_matches_reference",
                               "test_gradient_clipping_nonfinite_norm"),
})
