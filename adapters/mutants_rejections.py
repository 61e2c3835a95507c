"""Backends whose Adam lacks options, as a framework author's adapter meets them (docs/adapters.md#optimizers):
the suite must check what such a framework has, count what it rejects, and never turn a rejection into a pass
or into an error.

- ``AdamWithoutDecayOrAmsgrad``: an Adam with neither weight decay nor AMSGrad that *declares* both fixed
  (``weight_decay`` 0, ``amsgrad`` False, as Keras declares its SGD's ``dampening`` 0) and refuses any other
  value: every draw is run with the declared values, so nothing is rejected.
- ``AdamRejectsEverything``: an Adam whose every call raises UnsupportedError: its tests are reported
  unsupported with the rejections counted, not "passed", and not an error.

tests/conformance/test_optimizer_rejections.py runs both.
"""

from __future__ import annotations

from types import MappingProxyType

from nnspec.adapters.base import OptimizerDeclaration, UnsupportedError
from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["AdamWithoutDecayOrAmsgrad", "AdamRejectsEverything"]


class AdamWithoutDecayOrAmsgrad(TorchBackend):
    """torch's Adam, offered as a framework whose Adam has no weight decay and no AMSGrad."""

    name = "adam-without-decay-or-amsgrad"

    @property
    def OPTIMIZER_CONVENTIONS(self):  # noqa: N802 - the mixin's contract
        adam = super().OPTIMIZER_CONVENTIONS["adam"]
        fixed = OptimizerDeclaration({**adam.conventions, "weight_decay": 0.0, "amsgrad": False}, adam.precision,
                                     adam.state_not_held)
        return MappingProxyType({"adam": fixed})

    @staticmethod
    def _refuse(hyper) -> None:
        if hyper.get("weight_decay", 0.0) != 0.0 or hyper.get("amsgrad", False):
            raise UnsupportedError(f"this Adam has no weight decay and no AMSGrad, got {hyper}")

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        self._refuse(hyper)
        return super().optimizer_step(optimizer, hyper, param, grad, state, dtype)

    def optimizer_trajectory(self, optimizer, hyper, param, grads, dtype):
        self._refuse(hyper)
        return super().optimizer_trajectory(optimizer, hyper, param, grads, dtype)


class AdamRejectsEverything(TorchBackend):
    """Declares Adam, then refuses every call of it."""

    name = "adam-rejects-everything"

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        raise UnsupportedError(f"{optimizer}: not this one")

    def optimizer_trajectory(self, optimizer, hyper, param, grads, dtype):
        raise UnsupportedError(f"{optimizer}: not this one")
