"""Properties of reference/optimizers that follow from the spec's equations (docs/spec/optimizers.md).

Each budget says where it comes from: a term from the mathematics (how far eps moves a result) plus a few units
of float64 (or float32) rounding of the quantities involved; never a fixed tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.conformance import errormodel
from nnspec.conformance.comparison import compare
from nnspec.conformance.oracles import optimizers as oracle
from nnspec.reference import catalogue, dtypes
from nnspec.reference.optimizers import adagrad, adam, profiles

U = dtypes.FLOAT64.unit_roundoff
#: (optimizer, profile) for every optimizer each framework has (PyTorch has no Lion)
PROFILED = [(name, profile) for profile, table in profiles.PROFILES.items() for name in table]
ZERO_INITIALISED = ("adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam")


@st.composite
def gradients(draw, *, shape=(3,), low: float = 1e-3, high: float = 1e3) -> np.ndarray:
    """A float64 array of ``shape`` with |g| in [low, high] and either sign (bounded away from zero)."""
    magnitudes = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))
    return magnitudes * draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))


def _framework_kwargs(profile: str, name: str) -> dict:
    """The framework's defaults and conventions, with momentum on where there is one (its buffer is state too)."""
    kwargs = {"lr": 1e-3, **profiles.DEFAULTS[profile][name], **profiles.conventions(profile, name)}
    if name in ("sgd", "rmsprop"):
        kwargs["momentum"] = 0.9
    return kwargs


@pytest.mark.parametrize("eps_placement", ["outside_sqrt", "inside_sqrt", "eps_hat"])
@given(g=gradients(), lr=st.floats(1e-4, 1.0), beta1=st.floats(0.0, 0.99), beta2=st.floats(0.0, 0.9999),
       eps=st.floats(0.0, 1e-8))
def test_adam_first_step_is_minus_lr_sign_g(eps_placement, g, lr, beta1, beta2, eps):
    """m_hat = g and v_hat = g^2 at t = 1, so the step is lr * g / (|g| + eps): -lr sign(g) up to lr eps / |g|
    (inside_sqrt: lr eps / (2 g^2); eps_hat: lr eps / (sqrt(1 - beta2) |g|), which needs |g| >> eps / sqrt(1 -
    beta2)). The computation of m_hat and sqrt(v_hat) adds at most ~10 roundings of lr."""
    kwargs = {"lr": lr, "betas": (beta1, beta2), "eps": eps, "eps_placement": eps_placement}
    theta = np.zeros_like(g)
    new = adam.step(theta, g, adam.init(theta, **kwargs), **kwargs)[0]
    deviation = {"outside_sqrt": eps / np.abs(g), "inside_sqrt": eps / (2 * g**2),
                 "eps_hat": eps / (np.sqrt(1 - beta2) * np.abs(g))}[eps_placement]
    assert np.all(np.abs(new + lr * np.sign(g)) <= lr * (deviation + 16 * U))


@pytest.mark.parametrize("eps_placement", ["outside_sqrt", "inside_sqrt", "eps_hat"])
@given(grads=st.lists(gradients(), min_size=3, max_size=3), power=st.integers(-20, 20),
       betas=st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)), eps=st.floats(0.0, 1e-6))
def test_adam_nearly_invariant_to_gradient_scale(eps_placement, grads, power, betas, eps):
    """Scaling every gradient by c = 2**power scales m by c and sqrt(v) by |c| exactly (a power of two commutes
    with rounding), so the step is the step for eps / c (eps / c^2 inside the sqrt): the update is invariant
    except through eps. Per step, |step(c g) - step(g)| <= |step(g)| * eps |1 - 1/c| / s, s = sqrt(v_hat)
    (sqrt(v) for eps_hat; 2 v_hat and 1/c^2 for inside_sqrt), plus a few roundings of the step."""
    c = 2.0**power
    kwargs = {"lr": 1e-2, "betas": betas, "eps": eps, "eps_placement": eps_placement}
    zero = np.zeros_like(grads[0])
    state, scaled_state = adam.init(zero, **kwargs), adam.init(zero, **kwargs)
    for t, g in enumerate(grads, 1):
        new, state = adam.step(zero, g, state, **kwargs)
        scaled, scaled_state = adam.step(zero, c * g, scaled_state, **kwargs)
        corrected = state.exp_avg_sq / (1 - betas[1] ** t)
        spread = {"outside_sqrt": eps * abs(1 - 1 / c) / np.sqrt(corrected),
                  "inside_sqrt": eps * abs(1 - 1 / c**2) / (2 * corrected),
                  "eps_hat": eps * abs(1 - 1 / c) / np.sqrt(state.exp_avg_sq)}[eps_placement]
        assert np.all(np.abs(scaled - new) <= np.abs(new) * (spread + 16 * U)), f"step {t}"


@pytest.mark.parametrize("profile", list(profiles.PROFILES))
@given(grads=st.lists(hnp.arrays(np.float64, (3,), elements=st.floats(-1e3, 1e3)), min_size=1, max_size=6))
def test_adagrad_accumulator_never_decreases(profile, grads):
    kwargs = _framework_kwargs(profile, "adagrad")
    theta = np.zeros(3)
    state = adagrad.init(theta, **kwargs)
    for g in grads:
        theta, new = adagrad.step(theta, g, state, **kwargs)
        assert np.all(new.sum >= state.sum)
        state = new


@pytest.mark.parametrize("amsgrad_max_of", ["raw_v", "v_hat"])
@given(grads=st.lists(gradients(), min_size=2, max_size=6), beta2=st.floats(0.0, 0.9999))
def test_amsgrad_running_max_never_decreases(amsgrad_max_of, grads, beta2):
    """The running max never decreases and bounds the current second moment (raw, or bias-corrected for v_hat),
    also when the gradients shrink (the case pytorch/pytorch#78807 lost)."""
    kwargs = {"amsgrad": True, "amsgrad_max_of": amsgrad_max_of, "betas": (0.9, beta2)}
    theta = np.zeros(3)
    state = adam.init(theta, **kwargs)
    for t, g in enumerate(grads, 1):
        theta, new = adam.step(theta, g, state, **kwargs)
        current = new.exp_avg_sq if amsgrad_max_of == "raw_v" else new.exp_avg_sq / (1 - beta2**t)
        assert np.all(new.max_exp_avg_sq >= state.max_exp_avg_sq) and np.all(new.max_exp_avg_sq >= current)
        state = new


@given(grads=st.lists(gradients(), min_size=1, max_size=6), beta2=st.floats(0.0, 0.9999))
def test_amsgrad_v_hat_max_dominates_raw_max(grads, beta2):
    """optax's max_i(v_i / bc2(i)) >= PyTorch's and Keras's max_i(v_i) / bc2(t), because bc2(i) <= bc2(t): optax
    takes smaller early steps (google-deepmind/optax#1389). Both sides carry one division each: 4 roundings."""
    runs = {}
    for max_of in ("raw_v", "v_hat"):
        kwargs = {"amsgrad": True, "amsgrad_max_of": max_of, "betas": (0.9, beta2)}
        theta, state = np.zeros(3), adam.init(np.zeros(3), **kwargs)
        for g in grads:
            theta, state = adam.step(theta, g, state, **kwargs)
        runs[max_of] = state.max_exp_avg_sq
    raw = runs["raw_v"] / (1 - beta2 ** len(grads))
    assert np.all(runs["v_hat"] >= raw * (1 - 4 * U))


@pytest.mark.parametrize(("name", "profile"), PROFILED)
@given(theta=hnp.arrays(np.float64, (3,), elements=st.floats(-10.0, 10.0)))
def test_optimizer_zero_gradient_changes_nothing(name, profile, theta):
    """From init, with weight_decay = 0 and eps > 0, zero gradients leave the parameter and every moment array
    as they were: each update is 0 / (something > 0) or a zero buffer. Schedule state advances (``step``,
    NAdam's ``mu_product``), and one moment moves: Adamax "in_max" (PyTorch, optax) sets exp_inf = max(beta2 *
    exp_inf, |g| + eps) = eps. Not covered: a momentum buffer filled by earlier nonzero gradients keeps moving
    the parameter, and eps = 0 makes 0/0 (test_optimizer_zero_gradient_with_zero_eps_is_nan)."""
    module, kwargs = catalogue.optimizer(name).module, {**_framework_kwargs(profile, name), "weight_decay": 0.0}
    start = module.init(theta, **kwargs)
    param, state = theta, start
    for _ in range(3):
        param, state = module.step(param, np.zeros_like(theta), state, **kwargs)
    assert np.array_equal(param, theta) and state.step == 3
    expected = start
    if name == "adamax" and kwargs["eps_placement"] == "in_max":
        expected = start._replace(exp_inf=np.full_like(theta, kwargs["eps"]))
    for field in start._fields[1:]:
        if isinstance(getattr(start, field), np.ndarray):
            assert np.array_equal(getattr(state, field), getattr(expected, field)), field


@pytest.mark.parametrize("name", ZERO_INITIALISED)
def test_optimizer_zero_gradient_with_zero_eps_is_nan(name):
    """The exception to the property above: with eps = 0 and zero moments, the update is 0/0 = NaN (IEEE),
    as in PyTorch; the reference does not hide it with an epsilon the spec does not name."""
    module, theta = catalogue.optimizer(name).module, np.array([1.0])
    kwargs = {"eps": 0.0, "initial_accumulator_value": 0.0} if name == "adagrad" else {"eps": 0.0}
    with np.errstate(invalid="ignore", divide="ignore"):
        param = module.step(theta, np.zeros(1), module.init(theta, **kwargs), **kwargs)[0]
    assert np.isnan(param[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize(("name", "profile"), PROFILED)
def test_optimizer_keeps_param_dtype(name, profile, dtype):
    module, kwargs = catalogue.optimizer(name).module, _framework_kwargs(profile, name)
    theta = np.array([0.5, -1.0, 2.0], dtype=dtype)
    param, state = theta, module.init(theta, **kwargs)
    for g in ([0.25, -0.5, 1.0], [1.0, 0.5, -0.25]):
        param, state = module.step(param, np.array(g), state, **kwargs)  # a float64 gradient is cast to dtype
    assert param.dtype == dtype
    assert all(getattr(state, f).dtype == dtype for f in state._fields[1:] if isinstance(getattr(state, f), np.ndarray))


@pytest.mark.parametrize("profile", list(profiles.PROFILES))
@settings(max_examples=10)
@given(theta=hnp.arrays(np.float32, (3,), elements=st.floats(-10.0, 10.0, width=32)),
       grads=st.lists(gradients().map(lambda g: g.astype(np.float32)), min_size=3, max_size=3))
def test_adam_float32_within_float32_budget(profile, theta, grads):
    """A float32 run against the exact steps, with the oracle's bound for u = 2**-24 (every input rounded to
    float32 once: lr = 1e-3 is not a float32 number) times 4, as for float64 in test_optimizers_steps.py."""
    hyper = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-7, "weight_decay": 0.0}
    conventions = profiles.conventions(profile, "adam")
    param, state = theta, adam.init(theta, **hyper, **conventions)
    for g in grads:
        param, state = adam.step(param, g, state, **hyper, **conventions)
    variant = {"amsgrad": False, **conventions}
    value, bound = oracle.exact_steps("adam", variant, theta.astype(np.float64), [g.astype(np.float64) for g in grads],
                                      hyper, u=2.0**-24, inputs_rounded=True)["param_3"]
    outcome = compare(param, value, 4 * bound + errormodel.UNDERFLOW_FLOOR * dtypes.get("float32").tiny)
    assert outcome.ok, outcome.describe()
