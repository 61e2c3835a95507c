"""Optimizer cases: hyperparameters drawn so that every term of the update matters, and gradient sequences.

Each optimizer's hyperparameters are drawn in its room (``conformance/optimizers/<name>.py``), each from a few
values chosen to exercise one term (Hypothesis shrinks towards the first): eps large against sqrt(v) when the
gradients are tiny, dampening > 0 (PyTorch's first step skips it), weight decay with and without momentum,
Nesterov on and off, centered on and off, Adadelta with lr != 1, beta2 in {0.999, 0.9}, beta1 = 0 (no momentum
at all). Here: gradients that shrink step after step (AMSGrad's max then differs from v), exact zeros in
parameters and gradients.

Spec: docs/spec/optimizers.md#conformance
"""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

from nnspec.conformance import budgets
from nnspec.conformance.strategies.arrays import float_arrays
from nnspec.reference import dtypes

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

@functools.cache
def hyperparameters(optimizer: str) -> st.SearchStrategy[dict]:
    """PyTorch-named hyperparameters of ``optimizer`` (all of them, so nothing depends on a default): the
    strategy in its room, ``conformance/optimizers/<optimizer>.py``."""
    return budgets.optimizer_room(optimizer).hyperparameters()


def _normal_in(hyper: dict, fmt: dtypes.Format) -> bool:
    """Every nonzero hyperparameter is a normal number of ``fmt``: float16 has no eps = 1e-8 (it rounds to 0,
    and 0/0 is NaN where the spec divides by eps), so such draws are float32's and float64's."""
    values = [v for value in hyper.values() if not isinstance(value, bool)
              for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, float) and v != 0]
    return all(abs(v) >= fmt.tiny for v in values)


@functools.cache
@st.composite
def optimizer_cases(draw, optimizer: str, fmt: dtypes.Format, *, max_steps: int = 6):
    """(hyper, param, grads): 1..max_steps gradients of one small shape, exact in ``fmt``.

    The gradients share a scale from ``GRADIENT_SCALES``; step t's is multiplied by shrink**(t-1), a factor from
    ``SHRINK_FACTORS`` (exactly: a power of two), the case where AMSGrad's running max stays above v.
    """
    hyper = draw(hyperparameters(optimizer).filter(lambda h: _normal_in(h, fmt)), label="hyper")
    size = draw(st.integers(1, 4), label="size")
    steps = draw(st.integers(1, max_steps), label="steps")
    scale = draw(st.sampled_from(GRADIENT_SCALES), label="scale")
    shrink = draw(st.sampled_from(SHRINK_FACTORS), label="shrink")
    param = draw(float_arrays(fmt, (size,), min_value=-4.0, max_value=4.0), label="param")
    # only centered RMSprop needs its squares to stay normal; elsewhere a normal gradient is enough (in float16
    # the centered floor is 8, which would zero every gradient of the other scales)
    centered = optimizer == "rmsprop" and hyper.get("centered")
    smallest = _SMALLEST_GRADIENT[fmt.name] if centered else fmt.tiny
    grads = []
    for step in range(steps):
        grad = draw(float_arrays(fmt, (size,), min_value=-scale, max_value=scale), label=f"grad {step + 1}")
        grad = grad * shrink**step
        grads.append(np.where(np.abs(grad) < smallest, 0.0, grad))
    return hyper, param, grads


def discriminating_cases(optimizer: str, fmt: dtypes.Format) -> list[tuple[dict, np.ndarray, list[np.ndarray]]]:
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
    rounded = [fmt.round(a) for a in (param, *grads)]
    return [(dict(hyper), rounded[0], rounded[1:]) for hyper in budgets.optimizer_room(optimizer).PROBES]
