"""The calling contract of reference/optimizers: purity, input checks, states, and the framework profiles
(docs/spec/optimizers.md#conventions and #profiles)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.reference import catalogue
from nnspec.reference.optimizers import adagrad, adam, adamax, nadam, profiles, sgd

#: (optimizer, profile) for every optimizer each framework has (PyTorch has no Lion)
PROFILED = [(name, profile) for profile, table in profiles.PROFILES.items() for name in table]
# Structural switches on, so that every optional state field exists.
FULL = {"sgd": {"momentum": 0.9}, "rmsprop": {"momentum": 0.9, "centered": True}, "adam": {"amsgrad": True},
        "adamw": {"amsgrad": True}}


def _kwargs(profile: str, name: str) -> dict:
    return {"lr": 1e-2, **profiles.DEFAULTS[profile][name], **profiles.conventions(profile, name), **FULL.get(name, {})}


@pytest.mark.parametrize(("name", "profile"), PROFILED)
@given(theta=hnp.arrays(np.float64, (2, 3), elements=st.floats(-10.0, 10.0)),
       grad=hnp.arrays(np.float64, (2, 3), elements=st.floats(-10.0, 10.0)))
def test_optimizer_does_not_mutate_inputs(name, profile, theta, grad):
    module, kwargs = catalogue.optimizer(name).module, _kwargs(profile, name)
    state = module.step(theta, grad, module.init(theta, **kwargs), **kwargs)[1]  # a state with nonzero fields
    copies = (theta.copy(), grad.copy(), [np.copy(f) if isinstance(f, np.ndarray) else f for f in state])
    module.step(theta, grad, state, **kwargs)
    assert np.array_equal(theta, copies[0]) and np.array_equal(grad, copies[1])
    for before, after in zip(copies[2], state):
        assert np.array_equal(before, after) if isinstance(after, np.ndarray) else before == after


@pytest.mark.parametrize(("name", "profile"), PROFILED)
def test_optimizer_profile_runs_on_every_shape(name, profile):
    """Each profile's conventions and defaults are accepted; 0-d, empty and 2-d params keep shape and dtype."""
    module, kwargs = catalogue.optimizer(name).module, _kwargs(profile, name)
    for theta in (np.array(1.5), np.zeros((0, 2)), np.ones((2, 3))):
        param, state = module.step(theta, np.ones_like(theta), module.init(theta, **kwargs), **kwargs)
        assert isinstance(param, np.ndarray) and param.shape == theta.shape and param.dtype == theta.dtype
        assert np.all(np.isfinite(param)) and state.step == 1


BAD_HYPERPARAMETERS = [
    ("sgd", {"lr": -0.1}, ValueError, r"sgd\.step: lr must be in \[0\.0, inf\], got -0\.1"),
    ("sgd", {"momentum": 1.5}, ValueError, r"sgd\.step: momentum must be in \[0\.0, 1\.0\]"),
    ("sgd", {"dampening": -0.5}, ValueError, r"sgd\.step: dampening"),
    ("sgd", {"nesterov": True}, ValueError, r"sgd\.step: nesterov requires momentum > 0 and dampening == 0"),
    ("sgd", {"nesterov": 1}, TypeError, r"sgd\.step: nesterov must be a bool"),
    ("sgd", {"momentum_buffer": "keras"}, ValueError, r"sgd\.step: momentum_buffer must be one of"),
    ("sgd", {"weight_decay_mode": "l2"}, ValueError, r"sgd\.step: weight_decay_mode must be one of"),
    ("adagrad", {"eps": -1e-10}, ValueError, r"adagrad\.step: eps"),
    ("adagrad", {"lr_decay": float("inf")}, ValueError, r"adagrad\.step: lr_decay must be finite"),
    ("adagrad", {"eps_placement": "eps_hat"}, ValueError, r"adagrad\.step: eps_placement must be one of"),
    ("rmsprop", {"alpha": 1.5}, ValueError, r"rmsprop\.step: alpha"),
    ("rmsprop", {"centered": "yes"}, TypeError, r"rmsprop\.step: centered must be a bool"),
    ("rmsprop", {"momentum_buffer": "raw"}, ValueError, r"rmsprop\.step: momentum_buffer"),
    ("adadelta", {"rho": -0.1}, ValueError, r"adadelta\.step: rho"),
    ("adadelta", {"weight_decay": -1.0}, ValueError, r"adadelta\.step: weight_decay"),
    ("adam", {"betas": (0.9, 1.0)}, ValueError, r"adam\.step: betas\[1\] must be in \[0\.0, 1\.0\)"),
    ("adam", {"betas": (-0.1, 0.9)}, ValueError, r"adam\.step: betas\[0\]"),
    ("adam", {"betas": 0.9}, ValueError, r"adam\.step: betas must be a pair"),
    ("adam", {"eps": float("nan")}, ValueError, r"adam\.step: eps must be finite"),
    ("adam", {"lr": "0.1"}, TypeError, r"adam\.step: lr must be a real number"),
    ("adam", {"amsgrad": 1}, TypeError, r"adam\.step: amsgrad must be a bool"),
    ("adam", {"eps_placement": "in_max"}, ValueError, r"adam\.step: eps_placement"),
    ("adam", {"amsgrad_max_of": "max"}, ValueError, r"adam\.step: amsgrad_max_of"),
    ("adamw", {"weight_decay": -0.01}, ValueError, r"adamw\.step: weight_decay"),
    ("adamax", {"eps_placement": "outside_sqrt"}, ValueError, r"adamax\.step: eps_placement"),
    ("nadam", {"momentum_decay": -1.0}, ValueError, r"nadam\.step: momentum_decay"),
    ("nadam", {"momentum_schedule": "keras"}, ValueError, r"nadam\.step: momentum_schedule"),
]


@pytest.mark.parametrize("name, bad, error, match", BAD_HYPERPARAMETERS)
def test_optimizer_rejects_bad_hyperparameters(name, bad, error, match):
    module, theta = catalogue.optimizer(name).module, np.zeros(2)
    with pytest.raises(error, match=match):
        module.step(theta, theta, module.init(theta), **bad)
    with pytest.raises(error, match=match.replace(r"\.step", r"\.init")):
        module.init(theta, **bad)


def test_adam_v_hat_with_eps_hat_is_undefined():
    with pytest.raises(ValueError, match=r"adam\.init: amsgrad_max_of='v_hat' is defined with eps_placement"):
        adam.init(np.zeros(1), amsgrad=True, amsgrad_max_of="v_hat", eps_placement="eps_hat")


BAD_STATES = [
    ("sgd", {}, {"momentum": 0.9}, ValueError, r"sgd\.step: state\.momentum_buffer is missing but momentum=0\.9"),
    ("sgd", {"momentum": 0.9}, {}, ValueError, r"sgd\.step: state\.momentum_buffer is present but momentum=0"),
    ("rmsprop", {}, {"centered": True}, ValueError, r"rmsprop\.step: state\.grad_avg is missing"),
    ("adam", {}, {"amsgrad": True}, ValueError, r"adam\.step: state\.max_exp_avg_sq is missing"),
    ("adamw", {"amsgrad": True}, {}, ValueError, r"adamw\.step: state\.max_exp_avg_sq is present"),
]


@pytest.mark.parametrize("name, init_kwargs, step_kwargs, error, match", BAD_STATES)
def test_optimizer_rejects_mismatched_state(name, init_kwargs, step_kwargs, error, match):
    module, theta = catalogue.optimizer(name).module, np.zeros(2)
    with pytest.raises(error, match=match):
        module.step(theta, theta, module.init(theta, **init_kwargs), **step_kwargs)


def test_optimizer_rejects_bad_arrays_and_states():
    theta = np.zeros(2)
    with pytest.raises(TypeError, match=r"adam\.step: state must be the State returned by init, got State"):
        adam.step(theta, theta, sgd.init(theta))
    with pytest.raises(TypeError, match=r"sgd\.step: param must be a real floating-point array, got int64"):
        sgd.step(np.zeros(2, dtype=np.int64), theta, sgd.init(theta))
    with pytest.raises(ValueError, match=r"adagrad\.step: grad must have the same shape as param"):
        adagrad.step(theta, np.zeros(3), adagrad.init(theta))
    with pytest.raises(ValueError, match=r"adamax\.step: state\.exp_inf must have the same shape as param"):
        adamax.step(theta, theta, adamax.init(theta)._replace(exp_inf=np.zeros(3)))
    with pytest.raises(ValueError, match=r"nadam\.step: state\.step must be an int in \[0, 2\*\*53\), got -1"):
        nadam.step(theta, theta, nadam.init(theta)._replace(step=-1))
    with pytest.raises(TypeError, match=r"nadam\.step: state\.mu_product must be a real number"):
        nadam.step(theta, theta, nadam.init(theta)._replace(mu_product=None))


def test_optimizer_weight_decay_zero_leaves_infinite_param_alone():
    """weight_decay = 0 is skipped (as in PyTorch), so an infinite parameter does not turn g + 0 * inf into NaN."""
    theta = np.array([np.inf, 1.0])
    param = sgd.step(theta, np.array([1.0, 1.0]), sgd.init(theta), lr=0.5)[0]
    assert param[0] == np.inf and param[1] == 0.5


def test_profiles_conventions_returns_a_copy_and_rejects_unknown_names():
    conventions = profiles.conventions("pytorch", "sgd")
    conventions["weight_decay_mode"] = "decoupled"
    assert profiles.PROFILES["pytorch"]["sgd"]["weight_decay_mode"] == "coupled"
    with pytest.raises(ValueError, match=r"profiles\.conventions: profile must be one of .*got 'tf'"):
        profiles.conventions("tf", "sgd")
    with pytest.raises(ValueError, match=r"profiles\.conventions: optimizer must be one of .*got 'lamb'"):
        profiles.conventions("keras", "lamb")


def test_profiles_cover_every_optimizer_their_framework_has():
    has = {"pytorch": tuple(name for name in catalogue.optimizers() if name != "lion")}  # torch.optim has no Lion
    for table in (profiles.PROFILES, profiles.DEFAULTS):
        assert all(tuple(entry) == has.get(framework, catalogue.optimizers()) for framework, entry in table.items())
