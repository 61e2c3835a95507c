"""Self-tests of reference/optimizers/*.py against the SymPy oracle (docs/spec/optimizers.md).

Oracle: ``nnspec.conformance.oracles.optimizers.exact_steps``, the spec's equations written again in SymPy (in
the papers' form where the reference takes PyTorch's order) and evaluated at 50 digits. Three steps from the
initial state, for every optimizer and every named convention (each value of each convention at least once,
and every framework profile), comparing the parameter after each step and every state field.

Budget: SAFETY * bound + errormodel.UNDERFLOW_FLOOR * tiny, where ``bound`` is the oracle's first-order running
error bound of the spec's formula at that input (float64 unit roundoff). SAFETY = 4 covers the difference between
the reference's operation order and the oracle's expression tree (e.g. lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
against lr * m_hat / (sqrt(v_hat) + eps)): a few more roundings of the same magnitudes.

eps is drawn > 0: with eps = 0 a gradient that cancels exactly (g + weight_decay * theta = 0) makes 0/0, which
tests/reference/test_optimizers_properties.py covers on its own.
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
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import catalogue, dtypes
from nnspec.reference.optimizers import profiles

SAFETY = 4.0
FLOOR = errormodel.UNDERFLOW_FLOOR * dtypes.FLOAT64.tiny
STEPS = 3
_STRUCTURAL = ("uses_momentum", "nesterov", "centered", "amsgrad")


@st.composite
def problems(draw) -> tuple[np.ndarray, list[np.ndarray]]:
    """theta in [-10, 10] and STEPS gradients with |g| in [1e-3, 1e3], all of one shape of 1..4 elements.

    Gradients are bounded away from 0 so that the moments the adaptive methods divide by stay normal numbers.
    """
    shape = (draw(st.integers(1, 4)),)
    theta = draw(float_arrays(dtypes.FLOAT64, shape, min_value=-10.0, max_value=10.0))
    magnitude = hnp.arrays(np.float64, shape, elements=st.floats(1e-3, 1e3))
    signs = hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0]))
    return theta, [draw(magnitude) * draw(signs) for _ in range(STEPS)]


def _hyperparameters(draw, optimizer: str, variant: dict) -> dict:
    """Hyperparameters in the ranges where every term of the update matters (Keras-style small eps included)."""
    unit = st.floats(0.0, 0.99)
    h = {"lr": draw(st.floats(1e-3, 1.0)), "weight_decay": draw(st.floats(0.0, 0.5)),
         "eps": draw(st.floats(1e-8, 1e-2))}
    if optimizer == "sgd":
        del h["eps"]
        h["momentum"] = draw(st.floats(0.05, 0.99)) if variant["uses_momentum"] else 0.0
        h["dampening"] = 0.0 if variant["nesterov"] or not variant["uses_momentum"] else draw(unit)
        h["nesterov"] = variant["nesterov"]
    elif optimizer == "adagrad":
        h["lr_decay"] = draw(st.floats(0.0, 0.5))
        h["initial_accumulator_value"] = draw(st.floats(0.0, 0.5))
    elif optimizer == "rmsprop":
        h["alpha"] = draw(st.floats(0.1, 0.999))  # centered: v - mean^2 cancels by 1/alpha at most
        h["momentum"] = draw(st.floats(0.05, 0.99)) if variant["uses_momentum"] else 0.0
        h["centered"] = variant["centered"]
    elif optimizer == "adadelta":
        h["rho"] = draw(unit)
    elif optimizer == "lion":  # no eps: the update is lr * sign(c)
        del h["eps"]
        h["betas"] = (draw(unit), draw(st.floats(0.0, 0.9999)))
    else:
        h["betas"] = (draw(unit), draw(st.floats(0.0, 0.9999)))
    if optimizer in ("adam", "adamw"):
        h["amsgrad"] = variant["amsgrad"]
    if optimizer == "nadam" and "momentum_decay" not in variant:
        h["momentum_decay"] = draw(st.floats(0.0, 1.0))
    return h


def _variants(optimizer: str, structural: list[dict], extra: list[dict]) -> list[dict]:
    """Every profile's conventions with every structural switch, plus the extra crossings."""
    found = []
    for flags in structural:
        for profile in (p for p, table in profiles.PROFILES.items() if optimizer in table):  # PyTorch: no Lion
            found.append({**profiles.conventions(profile, optimizer), **flags})
        found.extend({**e, **flags} for e in extra)
    unique = {tuple(sorted(v.items())): v for v in found}
    return list(unique.values())


_NO_MOMENTUM = {"uses_momentum": False, "nesterov": False}
VARIANTS = {
    "sgd": _variants("sgd", [_NO_MOMENTUM, {"uses_momentum": True, "nesterov": False},
                             {"uses_momentum": True, "nesterov": True}],
                     [{"momentum_buffer": "zero_init", "weight_decay_mode": "decoupled"}]),
    "adagrad": _variants("adagrad", [{}], [{"eps_placement": "outside_sqrt", "weight_decay_mode": "decoupled"}]),
    "rmsprop": _variants("rmsprop", [{"uses_momentum": False, "centered": False},
                                     {"uses_momentum": True, "centered": True}],
                         [{"eps_placement": "outside_sqrt", "momentum_buffer": "lr_scaled",
                           "weight_decay_mode": "coupled"}]),
    "adadelta": _variants("adadelta", [{}], []),
    "adam": _variants("adam", [{"amsgrad": False}, {"amsgrad": True}],
                      [{"eps_placement": "inside_sqrt", "amsgrad_max_of": "v_hat", "weight_decay_mode": "decoupled"}]),
    "adamw": _variants("adamw", [{"amsgrad": False}, {"amsgrad": True}], []),
    "adamax": _variants("adamax", [{}], [{"eps_placement": "in_denominator", "weight_decay_mode": "coupled"}]),
    "nadam": _variants("nadam", [{}], [{"momentum_schedule": "constant", "weight_decay_mode": "decoupled"}]),
    "lion": _variants("lion", [{}], [{"weight_decay_mode": "coupled"}]),
}
CASES = [(name, variant) for name, variants in VARIANTS.items() for variant in variants]


def _run(module, theta, grads, hyper, conventions):
    keywords = {**hyper, **conventions}  # a profile may pin a hyperparameter the framework lacks (Keras: lr_decay=0)
    state = module.init(theta, **keywords)
    params = []
    for g in grads:
        theta, state = module.step(theta, g, state, **keywords)
        params.append(theta)
    return params, state


def _ids(case):
    name, variant = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in sorted(variant.items()))


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@settings(max_examples=15)
@given(data=st.data(), problem=problems())
def test_optimizer_matches_oracle(case, data, problem):
    name, variant = case
    theta, grads = problem
    hyper = _hyperparameters(data.draw, name, variant)
    conventions = {k: v for k, v in variant.items() if k not in _STRUCTURAL}
    params, state = _run(catalogue.optimizer(name).module, theta, grads, hyper, conventions)
    numbers = {k: v for k, v in {**hyper, **conventions}.items() if not isinstance(v, (bool, str))}
    exact = oracle.exact_steps(name, variant, theta, grads, numbers)
    observed = {f"param_{t}": p for t, p in enumerate(params, 1)}
    observed.update({field: getattr(state, field) for field in state._fields[1:] if field in exact})
    assert set(observed) == set(exact), f"outputs {sorted(observed)} against the oracle's {sorted(exact)}"
    for key, (value, bound) in exact.items():
        outcome = compare(np.broadcast_to(observed[key], value.shape), value, SAFETY * bound + FLOOR)
        assert outcome.ok, f"{name} {variant} {key}: {outcome.describe()}"


def test_every_catalogue_optimizer_is_held_to_the_oracle():
    """A new optimizer of the catalogue is self-checked only once it has its structural variants here."""
    assert set(VARIANTS) == set(catalogue.optimizers())
