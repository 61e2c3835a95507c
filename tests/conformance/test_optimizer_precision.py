"""The declared precision facts of the optimizer budgets (docs/spec/optimizers.md#precision), checked without any
framework: Keras's ``update_step`` arithmetic is written out below in numpy float32, from the Keras 3 source
(keras/src/optimizers/{adam,adamax,nadam}.py and ``_apply_weight_decay``), and driven through the suite's own
per-step check (``optimizer_checks.steps``).

- With Keras's declared facts, its arithmetic is within the budget on drawn and fixed cases: the facts are what
  that arithmetic needs.
- Without them it fails: the spec order's budget is tight enough to see float32 bias corrections and the
  incremental moment update, so the facts are not decoration.
- With the facts but beta rounded to bfloat16 instead of float32, it fails: declaring arithmetic in the tensor's
  dtype does not excuse a coarser one.

That the numpy transcription is Keras's arithmetic is itself checked where TensorFlow is installed: it agrees bit
for bit with Keras's own trajectories (``test_transcription_is_keras_bit_for_bit``).
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnspec.adapters.base import OptimizerDeclaration
from nnspec.adapters.tensorflow.optimizers import KERAS_DECLARATIONS
from nnspec.conformance import budgets, optimizer_checks
from nnspec.conformance.strategies.optimizers import discriminating_cases, optimizer_cases
from nnspec.reference import dtypes

F = np.float32
KERAS = ("adam", "adamw", "adamax", "nadam")


def _to_bfloat16(x: float) -> F:
    return F(dtypes.round_to(np.float64(x), "bfloat16"))


def _keras_step(optimizer, hyper, param, grad, state, beta_cast=F):
    """One Keras step in float32. ``beta_cast`` is how beta becomes a tensor (``ops.cast(self.beta_1, dtype)``)."""
    lr, eps, wd = F(hyper["lr"]), F(hyper["eps"]), hyper["weight_decay"]
    beta1, beta2 = hyper["betas"]
    p, g = F(param), F(grad)
    t = 0 if state is None else int(state["step"])
    zeros = np.zeros_like(p)
    s = {} if state is None else {k: (F(v) if v is not None else None) for k, v in state.items() if k != "step"}
    if wd:  # _apply_weight_decay: variable - variable * wd * lr, before update_step
        p = p - p * F(wd) * lr
    local_step = F(t + 1)
    if optimizer in ("adam", "adamw"):
        m, v = s.get("exp_avg", zeros), s.get("exp_avg_sq", zeros)
        alpha = lr * np.sqrt(F(1) - beta_cast(beta2) ** local_step) / (F(1) - beta_cast(beta1) ** local_step)
        m = m + (g - m) * F(1 - beta1)  # 1 - self.beta_1: Python arithmetic, then one rounding
        v = v + (g * g - v) * F(1 - beta2)
        new = {"exp_avg": m, "exp_avg_sq": v}
        if hyper.get("amsgrad"):
            v = new["max_exp_avg_sq"] = np.maximum(s.get("max_exp_avg_sq", zeros), v)
        p = p - (m * alpha) / (np.sqrt(v) + eps)
    elif optimizer == "adamax":
        m, u = s.get("exp_avg", zeros), s.get("exp_inf", zeros)
        m = m + (g - m) * F(1 - beta1)
        u = np.maximum(F(beta2) * u, np.abs(g))
        p = p - (lr * m) / ((F(1) - beta_cast(beta1) ** local_step) * (u + eps))
        new = {"exp_avg": m, "exp_inf": u}
    else:  # nadam: _backend_update_step updates the product first, then update_step
        b1, b2, decay = beta_cast(beta1), beta_cast(beta2), beta_cast(0.96)
        product = F(1.0) if state is None else F(state["mu_product"])
        product = product * F(beta1) * (F(1) - F(0.5) * F(0.96) ** local_step)
        u_t = b1 * (F(1) - F(0.5) * decay ** local_step)
        u_next = b1 * (F(1) - F(0.5) * decay ** F(t + 2))
        m, v = s.get("exp_avg", zeros), s.get("exp_avg_sq", zeros)
        m = m + (g - m) * (F(1) - b1)
        v = v + (g * g - v) * (F(1) - b2)
        m_hat = u_next * m / (F(1) - product * u_next) + (F(1) - u_t) * g / (F(1) - product)
        v_hat = v / (F(1) - b2 ** local_step)
        p = p - (m_hat * lr) / (np.sqrt(v_hat) + eps)
        new = {"exp_avg": m, "exp_avg_sq": v, "mu_product": float(product)}
    out = {k: (np.asarray(v, np.float64) if isinstance(v, np.ndarray) else v) for k, v in new.items()}
    return np.asarray(p, np.float64), {"step": t + 1, **out}


class _KerasArithmetic:
    """The least of a backend that ``optimizer_checks.steps`` needs: a declaration and ``optimizer_step``."""

    name = "keras-arithmetic"

    def __init__(self, precision=True, beta_cast=F):
        self._beta_cast = beta_cast
        self._declared = {name: KERAS_DECLARATIONS[name] if precision
                          else OptimizerDeclaration(KERAS_DECLARATIONS[name].conventions) for name in KERAS}

    def capabilities(self):
        return types.SimpleNamespace(optimizers=self._declared)

    def optimizer_step(self, optimizer, hyper, param, grad, state, dtype):
        with np.errstate(all="ignore"):
            return _keras_step(optimizer, hyper, param, grad, state, self._beta_cast)


def _worst(backend, optimizer, hyper, param, grads) -> float:
    comparisons = optimizer_checks.steps(backend, optimizer, hyper, param, grads, dtypes.FORMATS["float32"])
    return max(c.ratio for c in comparisons.values())


@pytest.mark.parametrize("optimizer", KERAS)
@settings(max_examples=60, derandomize=True, deadline=None)
@given(data=st.data())
def test_keras_arithmetic_within_budget_with_its_declared_facts(optimizer, data):
    hyper, param, grads = data.draw(optimizer_cases(optimizer, dtypes.FORMATS["float32"]))
    assert _worst(_KerasArithmetic(), optimizer, hyper, param, grads) <= 1.0


@pytest.mark.parametrize("optimizer", KERAS)
def test_keras_arithmetic_within_budget_on_the_fixed_cases(optimizer):
    for hyper, param, grads in discriminating_cases(optimizer, dtypes.FORMATS["float32"]):
        assert _worst(_KerasArithmetic(), optimizer, hyper, param, grads) <= 1.0, hyper


ADAM_FIRST_STEP = ({"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
                   np.zeros(1), [np.ones(1)])
# beta1 = 0: m + (g - m) * 1 rounds g - m; a gradient falling from 1 to 1e-10 leaves m = 0 instead of 1e-10
ADAMAX_DROP = ({"lr": 0.1, "betas": (0.0, 0.999), "eps": 1e-8, "weight_decay": 0.0},
               np.zeros(1), [np.ones(1), np.full(1, F(1e-10), dtype=np.float64)])
NADAM_FIRST_STEP = ({"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 0.004},
                    np.zeros(1), [np.ones(1)])


@pytest.mark.parametrize(("optimizer", "case"), [("adam", ADAM_FIRST_STEP), ("adamax", ADAMAX_DROP),
                                                 ("nadam", NADAM_FIRST_STEP)], ids=["adam", "adamax", "nadam"])
def test_keras_arithmetic_fails_without_the_facts(optimizer, case):
    hyper, param, grads = case
    assert _worst(_KerasArithmetic(), optimizer, hyper, param, grads) <= 1.0
    assert _worst(_KerasArithmetic(precision=False), optimizer, hyper, param, grads) > 1.0


@pytest.mark.parametrize(("optimizer", "case"), [("adam", ADAM_FIRST_STEP), ("nadam", NADAM_FIRST_STEP)],
                         ids=["adam", "nadam"])
def test_facts_do_not_excuse_a_coarser_beta(optimizer, case):
    hyper, param, grads = case
    assert _worst(_KerasArithmetic(beta_cast=_to_bfloat16), optimizer, hyper, param, grads) > 1.0


@pytest.mark.parametrize(("precision", "named"), [
    ({"coefficient_dtype": "tensor"}, "unknown facts ['coefficient_dtype']"),
    ({"dtype_arithmetic": ("bias",)}, "dtype_arithmetic groups ['bias']"),
    ({"moment_update": "lerp"}, "moment_update must be"),
])
def test_unknown_precision_facts_are_rejected(precision, named):
    with pytest.raises(ValueError, match=r"precision: .*" + named.replace("[", r"\[").replace("]", r"\]")):
        budgets.optimizer_steps("adam", {"lr": 0.1}, np.zeros(1), [np.ones(1)],
                                {"step": 0, "exp_avg": np.zeros(1), "exp_avg_sq": np.zeros(1),
                                 "max_exp_avg_sq": None}, "float32", precision)


@pytest.mark.parametrize("optimizer", KERAS)
@settings(max_examples=15, derandomize=True, deadline=None)
@given(data=st.data())
def test_transcription_is_keras_bit_for_bit(tensorflow_backend, optimizer, data):
    hyper, param, grads = data.draw(optimizer_cases(optimizer, dtypes.FORMATS["float32"]))
    # TensorFlow flushes subnormal results to zero on the CPU and numpy does not: parameters whose weight decay
    # p * wd * lr would be subnormal, and gradients whose decayed square (1 - beta2) g**2 would be, are left out
    # here (the budgets count flush to zero: error-budgets.md)
    assume(np.all((param == 0) | (np.abs(param) >= 2.0**-100)))
    assume(all(np.all((grad == 0) | (np.abs(grad) >= 2.0**-50)) for grad in grads))
    observed = tensorflow_backend.optimizer_trajectory(optimizer, hyper, param, grads, "float32")
    p, state = param, None
    for index, (grad, (keras_param, keras_state)) in enumerate(zip(grads, observed), 1):
        p, state = _keras_step(optimizer, hyper, p, grad, state)
        assert np.array_equal(keras_param, p, equal_nan=True), (index, keras_param, p)
        for name, value in state.items():
            if value is not None and name in keras_state:
                assert np.array_equal(keras_state[name], value, equal_nan=True), (index, name)


@pytest.fixture(scope="module")
def tensorflow_backend():
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    from nnspec.adapters import load_backend

    return load_backend("tensorflow")


def test_float32_hyperparameters_round_exactly_what_they_name():
    declaration = OptimizerDeclaration(precision={"float32_hyperparameters": ("momentum",)})
    keywords = optimizer_checks.reference_keywords("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
                                                   declaration)
    assert (keywords["lr"], keywords["momentum"], keywords["weight_decay"]) == (0.1, float(F(0.9)), 0.1)


def test_float32_bias_corrections_are_a_step_size_for_eps_hat_only():
    """Adam's float32 bias corrections are Keras's step size alpha_t = lr sqrt(1 - b2^t) / (1 - b1^t) evaluated at
    float32 betas: at t = 1 with betas (0.5, 0.75), exact in float32, nothing changes; with (0.9, 0.999) the
    step size is that ratio. Under eps_placement 'outside_sqrt' the corrections are no step size: ValueError."""
    from nnspec.reference.optimizers import adam

    facts = OptimizerDeclaration({"eps_placement": "eps_hat"}, {"float32_hyperparameters": ("bias_correction",)})
    state = adam.init(np.zeros(1))
    same, _ = optimizer_checks.step_reference("adam", {"betas": (0.5, 0.75)}, {"lr": 0.1, "eps_placement": "eps_hat"},
                                              facts, state)
    assert same["lr"] == 0.1
    moved, _ = optimizer_checks.step_reference("adam", {"betas": (0.9, 0.999)}, {"lr": 0.1, "eps_placement": "eps_hat"},
                                               facts, state)
    b1, b2 = float(F(0.9)), float(F(0.999))
    expected = 0.1 * (np.sqrt(1 - b2) / (1 - b1)) / (np.sqrt(1 - 0.999) / (1 - 0.9))
    assert moved["lr"] == pytest.approx(expected, rel=1e-12) and moved["lr"] != 0.1
    with pytest.raises(ValueError, match="eps_hat"):
        optimizer_checks.step_reference("adam", {}, {"lr": 0.1, "eps_placement": "outside_sqrt"},
                                        OptimizerDeclaration({"eps_placement": "outside_sqrt"}, facts.precision), state)
