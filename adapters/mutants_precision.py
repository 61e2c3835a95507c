"""Planted bugs hidden, before, behind whole-case excuses: TensorFlow backends with one float64 error each.

TensorFlow's float64 GELU uses float32-rounded constants and Keras's float64 optimizers float32-rounded
hyperparameters. Both used to be excused as known issues for every float64 element or case, so that any other
float64 error there passed too. They are now a declared convention (``float32_constants``,
docs/spec/activations.md#gelu-float32-constants) and a precision fact (``float32_hyperparameters``,
docs/spec/optimizers.md#precision) with exact budgets: each mutant below, a real TensorFlow with one small float64
error, must fail (tests/conformance/test_precision_fact_bugs.py). Run one with
``nnspec run --backend nnspec.adapters.mutants_precision:KerasAdamLrOffInFloat64 --dtype float64 -k adam``.
"""

from __future__ import annotations

from nnspec.adapters.tensorflow.backend import TensorFlowBackend

__all__ = ["KerasAdamLrOffInFloat64", "KerasNadamLrOffInFloat64", "TfGeluOffInFloat64"]


def _scaled_lr(hyper, scale: float) -> dict:
    return {**hyper, "lr": float(hyper.get("lr", 0.001)) * scale}


class KerasAdamLrOffInFloat64(TensorFlowBackend):
    """Keras Adam whose float64 step size is off by 1e-6 relative (a coefficient computed in the wrong
    precision), within float32's budget but not float64's."""

    name = "tensorflow-mutant-adam-float64"

    def _hyper(self, optimizer, hyper, dtype):
        return _scaled_lr(hyper, 1 + 1e-6) if optimizer == "adam" and dtype == "float64" else hyper

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        return super().optimizer_step(optimizer, self._hyper(optimizer, hyper, dtype), param, grad, state, dtype)

    def optimizer_trajectory(self, optimizer, hyper, param, grads, dtype):
        return super().optimizer_trajectory(optimizer, self._hyper(optimizer, hyper, dtype), param, grads, dtype)


class KerasNadamLrOffInFloat64(KerasAdamLrOffInFloat64):
    """Keras NAdam whose float64 step size is off by 1e-7 relative."""

    name = "tensorflow-mutant-nadam-float64"

    def _hyper(self, optimizer, hyper, dtype):
        return _scaled_lr(hyper, 1 + 1e-7) if optimizer == "nadam" and dtype == "float64" else hyper


class TfGeluOffInFloat64(TensorFlowBackend):
    """tf.nn.gelu whose float64 output is off by 1e-9 relative (about the size of its float32 constants'
    effect, which the declared convention now accounts for exactly)."""

    name = "tensorflow-mutant-gelu-float64"

    def forward(self, primitive, arrays, params, dtype):
        out = super().forward(primitive, arrays, params, dtype)
        return out * (1 + 1e-9) if primitive == "gelu" and dtype == "float64" else out
