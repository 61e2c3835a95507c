"""Optimizer cases: hyperparameters drawn so that every term of the update matters, and gradient sequences.

Each hyperparameter is drawn from a few values chosen to exercise one term (Hypothesis shrinks towards the
first): eps large against sqrt(v) when the gradients are tiny, dampening > 0 (PyTorch's first step skips it),
weight decay with and without momentum, Nesterov on and off, centered on and off, Adadelta with lr != 1,
beta2 in {0.999, 0.9}, beta1 = 0 (no momentum at all), gradients that shrink step after step (AMSGrad's max
then differs from v), exact zeros in parameters and gradients.

Spec: docs/spec/optimizers.md#conformance
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance import dtypes
from nnspec.conformance.strategies.arrays import float_arrays

__all__ = ["hyperparameters", "optimizer_cases", "discriminating_cases", "GRADIENT_SCALES", "SHRINK_FACTORS"]

#: Gradient magnitudes: tiny ones make eps dominate sqrt(v) (1e-4**2 * (1 - 0.999) ~ 1e-11 against eps 1e-8..1e-3)
GRADIENT_SCALES = (1.0, 1e-4, 30.0, 1e-2)

#: Per-step gradient factors (exact powers of two): constant, halving, and vanishing. AMSGrad's max differs from
#: v only once v decreases, i.e. g_t**2 < v_{t-1}: after one step that needs |g_2| < sqrt(1 - beta2) |g_1|
#: (0.03 for beta2 = 0.999), which 2**-8 satisfies.
SHRINK_FACTORS = (1.0, 2.0**-8, 0.5)

#: Below this a centered RMSprop gradient is drawn as an exact 0: its square, decayed over up to 10 steps, must
#: stay normal (other optimizers' gradients need only be normal numbers themselves).
#: Otherwise a state that underflowed in the dtype (square_avg = 0 while grad_avg != 0) is no longer a state the
#: float64 formula can reach, and centered RMSprop's v - mean**2 turns negative there (NaN, not a bug).
_SMALLEST_GRADIENT = {name: 2.0**10 * np.sqrt(fmt.tiny) for name, fmt in dtypes.FORMATS.items()}

_LR = st.sampled_from([0.1, 1e-3, 0.5])
_WEIGHT_DECAY = st.sampled_from([0.0, 0.1, 1e-2])
_EPS = st.sampled_from([1e-8, 1e-3, 0.1])
_BETAS = st.tuples(st.sampled_from([0.9, 0.5, 0.0]), st.sampled_from([0.999, 0.9]))


@st.composite
def _sgd(draw):
    momentum = draw(st.sampled_from([0.9, 0.0, 0.5]))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.3, 0.0]))
    return {"lr": draw(_LR), "momentum": momentum, "dampening": dampening, "weight_decay": draw(_WEIGHT_DECAY),
            "nesterov": nesterov}


@st.composite
def _adagrad(draw):
    return {"lr": draw(_LR), "lr_decay": draw(st.sampled_from([0.1, 0.0])), "weight_decay": draw(_WEIGHT_DECAY),
            "initial_accumulator_value": draw(st.sampled_from([0.0, 0.1])), "eps": draw(st.sampled_from([1e-10, 1e-3]))}


@st.composite
def _rmsprop(draw):
    return {"lr": draw(_LR), "alpha": draw(st.sampled_from([0.99, 0.9, 0.5])), "eps": draw(_EPS),
            "weight_decay": draw(_WEIGHT_DECAY), "momentum": draw(st.sampled_from([0.9, 0.0])),
            "centered": draw(st.booleans())}


@st.composite
def _adadelta(draw):
    return {"lr": draw(st.sampled_from([0.5, 1.0, 0.1])), "rho": draw(st.sampled_from([0.9, 0.5])),
            "eps": draw(st.sampled_from([1e-6, 1e-3])), "weight_decay": draw(_WEIGHT_DECAY)}


@st.composite
def _adam(draw, weight_decay=_WEIGHT_DECAY):
    return {"lr": draw(_LR), "betas": draw(_BETAS), "eps": draw(_EPS), "weight_decay": draw(weight_decay),
            "amsgrad": draw(st.booleans())}


@st.composite
def _adamax(draw):
    return {"lr": draw(_LR), "betas": draw(_BETAS), "eps": draw(_EPS), "weight_decay": draw(_WEIGHT_DECAY)}


@st.composite
def _nadam(draw):
    return {"lr": draw(_LR), "betas": draw(_BETAS), "eps": draw(_EPS), "weight_decay": draw(_WEIGHT_DECAY),
            "momentum_decay": draw(st.sampled_from([4e-3, 0.5]))}


_HYPER = {"sgd": _sgd(), "adagrad": _adagrad(), "rmsprop": _rmsprop(), "adadelta": _adadelta(), "adam": _adam(),
          "adamw": _adam(weight_decay=st.sampled_from([0.1, 0.0, 1e-2])), "adamax": _adamax(), "nadam": _nadam()}


def hyperparameters(optimizer: str) -> st.SearchStrategy[dict]:
    """PyTorch-named hyperparameters of ``optimizer`` (all of them, so nothing depends on a default)."""
    return _HYPER[optimizer]


def _normal_in(hyper: dict, dtype: str) -> bool:
    """Every nonzero hyperparameter is a normal number of ``dtype``: float16 has no eps = 1e-8 (it rounds to 0,
    and 0/0 is NaN where the spec divides by eps), so such draws are float32's and float64's."""
    values = [v for value in hyper.values() if not isinstance(value, bool)
              for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, float) and v != 0]
    return all(abs(v) >= dtypes.get(dtype).tiny for v in values)


@st.composite
def optimizer_cases(draw, optimizer: str, dtype: str, *, max_steps: int = 6):
    """(hyper, param, grads): 1..max_steps gradients of one small shape, exact in ``dtype``.

    The gradients share a scale from ``GRADIENT_SCALES``; step t's is multiplied by shrink**(t-1), a factor from
    ``SHRINK_FACTORS`` (exactly: a power of two), the case where AMSGrad's running max stays above v.
    """
    hyper = draw(hyperparameters(optimizer).filter(lambda h: _normal_in(h, dtype)), label="hyper")
    size = draw(st.integers(1, 4), label="size")
    steps = draw(st.integers(1, max_steps), label="steps")
    scale = draw(st.sampled_from(GRADIENT_SCALES), label="scale")
    shrink = draw(st.sampled_from(SHRINK_FACTORS), label="shrink")
    param = draw(float_arrays(dtype, (size,), min_value=-4.0, max_value=4.0), label="param")
    # only centered RMSprop needs its squares to stay normal; elsewhere a normal gradient is enough (in float16
    # the centered floor is 8, which would zero every gradient of the other scales)
    centered = optimizer == "rmsprop" and hyper.get("centered")
    smallest = _SMALLEST_GRADIENT[dtype] if centered else dtypes.get(dtype).tiny
    grads = []
    for step in range(steps):
        grad = draw(float_arrays(dtype, (size,), min_value=-scale, max_value=scale), label=f"grad {step + 1}")
        grad = grad * shrink**step
        grads.append(np.where(np.abs(grad) < smallest, 0.0, grad))
    return hyper, param, grads


_PROBE_HYPER = {
    "sgd": [{"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1, "nesterov": False},
            {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.1, "nesterov": True},
            {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.1, "nesterov": False},
            {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.1, "nesterov": False}],
    "adagrad": [{"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-3},
                {"lr": 0.1, "lr_decay": 0.0, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-3}],
    "rmsprop": [{"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.9, "centered": True},
                {"lr": 0.01, "alpha": 0.99, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.0, "centered": False}],
    "adadelta": [{"lr": 0.5, "rho": 0.9, "eps": 1e-3, "weight_decay": 0.1}],
    "adam": [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3, "weight_decay": 0.0, "amsgrad": True},
             {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.1, "amsgrad": False}],
    "adamax": [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3, "weight_decay": 0.1}],
    "nadam": [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3, "weight_decay": 0.1, "momentum_decay": 4e-3}],
}
_PROBE_HYPER["adamw"] = _PROBE_HYPER["adam"]


def discriminating_cases(optimizer: str, dtype: str) -> list[tuple[dict, np.ndarray, list[np.ndarray]]]:
    """Fixed (hyper, param, grads) under which every convention of ``optimizer`` gives a different trajectory.

    Weight decay 0.1 with lr < 1 (coupled, decoupled and "not times lr" differ; 0 for AMSGrad, whose gradient
    must vanish), dampening 0.3 (PyTorch's undampened first buffer), eps 1e-3 against gradients of 1e-4 (every
    eps placement differs), a gradient that vanishes (2**-8, then 0: AMSGrad's max of v and of v_hat differ,
    Adamax's eps moves the state) and flips sign; state arrays differ where the conventions keep different
    units (lr-scaled buffers). These are the probes of ``nnspec identify`` and a deterministic conformance
    test, so no term depends on a random draw. Some probes repeat another without an optional feature
    (dampening, lr_decay, AMSGrad) so that a framework without it is still fingerprinted.
    """
    g1 = np.array([0.5, -1e-4, 0.0, 2.0])
    grads = [g1, g1 * 2.0**-8, np.zeros(4), -g1]
    param = np.array([1.5, -0.75, 0.0, 3.0])
    rounded = [dtypes.round_to(a, dtype) for a in (param, *grads)]
    return [(dict(hyper), rounded[0], rounded[1:]) for hyper in _PROBE_HYPER[optimizer]]
