"""The room of gradient clipping (reference/gradient_clipping.py): its error bound, its input strategies, its
scripted edge cases and the check that the tests and ``nnspec replay`` run.

The bound (docs/spec/error-budgets.md#gradient-clipping): a clipped element is t * s with s = min(1, c / (N + eps)).
The sum of squares of n elements spread over k tensors is off by at most gamma_{n+3k} relatively (any order of
summation; PyTorch's norm of per-tensor norms adds a square root, a square and one more sum per tensor), plus one
smallest normal per term for underflow; the square root halves it and adds u. The scale and the product add at most
SCALE_ROUNDINGS roundings, and the clamp min(1, .) and optax's select are continuous, so an element near the
boundary N = c is off by no more than the scale's relative error, whichever side the computed norm falls on.
Elementwise clipping by value is exact. Spec: docs/spec/gradient-clipping.md
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.adapters.base import Backend
from nnspec.conformance import errormodel
from nnspec.conformance.comparison import Comparison, compare
from nnspec.reference import dtypes, gradient_clipping

__all__ = ["SCALE_ROUNDINGS", "REGIMES", "element_bound", "budgets", "gradient_lists", "clipping_cases",
           "SCRIPTED", "check", "judge", "identify", "case", "run_case"]

SPEC = "docs/spec/gradient-clipping.md"

#: Roundings between the norm and the clipped element, the most of the frameworks' forms: PyTorch
#: t * min(1, c / (N + 1e-6)) rounds eps, the sum, the quotient and the product (4); Keras's global_clipnorm
#: t * (c * min(1 / N, 1 / c)) rounds 1 / N (or 1 / c), c * . and the product (3, plus the exact + (N - N));
#: optax (t / N) * c and Keras's clipnorm (t * c) / max(N, c) round twice.
SCALE_ROUNDINGS = 4

#: Where the threshold lies against what it clips: below (clipped, the norm 1.5 to 50 times the threshold), near
#: (within 4 ulps either side: where eps and optax's strict < decide), above (untouched, 2 to 100 times).
REGIMES = ("below", "near", "above")


def _relative_scale_error(values: np.ndarray, tensors: int, norm_type: float, eps: float,
                          fmt: dtypes.Format) -> float:
    """Bound on the relative error of the clamped scale (and the product) for one clipped group, in ``fmt``."""
    u, tiny = fmt.unit_roundoff, fmt.tiny
    if norm_type == math.inf:
        norm, rel_norm = float(np.max(np.abs(values), initial=0.0)), 0.0  # the largest magnitude is exact
    else:
        terms = values.size + 3 * tensors
        squares = math.fsum(float(v) * float(v) for v in values.ravel())
        if squares == 0.0:
            return 0.0  # a zero norm gives scale 1 in every form, and the elements are zeros
        rel_squares = float(errormodel.gamma(terms, u)) + terms * tiny / squares
        if rel_squares >= 1.0:
            return math.inf
        norm = math.sqrt(squares)
        halved = rel_squares / (1.0 + math.sqrt(1.0 - rel_squares))  # |sqrt(1 + d) - 1| for |d| <= rel_squares
        rel_norm = halved + u + halved * u  # and the square root's own rounding
    if rel_norm >= 1.0:
        return math.inf
    rel_eps = (u * eps + tiny) / (norm + eps) if eps > 0 else 0.0  # eps rounded into the format
    # (1 + u)**SCALE_ROUNDINGS * (1 + rel_eps) / (1 - rel_norm) - 1, without 1 + u rounding to 1 in float64
    return math.expm1(SCALE_ROUNDINGS * math.log1p(u) + math.log1p(rel_eps) - math.log1p(-rel_norm))


def element_bound(mode: str, grads: Sequence[np.ndarray], expected: Sequence[np.ndarray],
                  hyper: Mapping[str, object], eps: float, fmt: dtypes.Format) -> list[np.ndarray]:
    """Per element, |expected| times the relative error of its group's scale, in ``fmt``; 0 for "value"."""
    if mode == "value":
        return [np.zeros(np.shape(e)) for e in expected]
    norm_type = float(hyper.get("norm_type", 2.0))
    if mode == "global_norm":
        flat = np.concatenate([np.ravel(g) for g in grads])
        ratios = [_relative_scale_error(flat, len(grads), norm_type, eps, fmt)] * len(grads)
    else:
        ratios = [_relative_scale_error(np.ravel(g), 1, norm_type, eps, fmt) for g in grads]
    return [errormodel.nan_safe_product(np.abs(e), np.asarray(r)) for e, r in zip(expected, ratios)]


def budgets(mode: str, grads: Sequence[np.ndarray], expected: Sequence[np.ndarray], hyper: Mapping[str, object],
            conventions: Mapping[str, object], fmt: dtypes.Format) -> list[np.ndarray]:
    """The budget of every clipped element in ``fmt`` (errormodel.total: the dtype's bound, the float64
    reference's own, the underflow floor); exact where an expected value is NaN or an infinity."""
    eps = float(conventions.get("eps", 1e-6))
    per_format = {f.name: element_bound(mode, grads, expected, hyper, eps, f) for f in {fmt, dtypes.FLOAT64}}
    return [errormodel.total(lambda f, i=i: per_format[f.name][i], fmt) for i in range(len(grads))]


# --- strategies --------------------------------------------------------------------------------------------------

@functools.cache
def _exponents(fmt: dtypes.Format) -> st.SearchStrategy[int]:
    """Powers of two for the elements: float16 keeps every square normal (>= 2**-12) and the sum of squares of
    100 elements below 6400 (max 65504); the wider formats span 2**-30 .. 2**30."""
    return st.integers(-2, 3) if fmt.name == "float16" else st.integers(-30, 30)


#: The shapes of the gradient lists: the parameters of small dense networks (weight, bias per layer), tensors of
#: different shapes and sizes. A few fixed lists, not any shapes: a jitted framework (JAX) compiles once per list
#: of shapes, and the values, not the shapes, decide where clipping starts.
PARAMETER_SHAPES = (((4, 3), (3,)), ((3, 5), (5,), (5, 1), (1,)), ((2, 2), (2,), (2, 6), (6,)), ((1, 4), (4,)))


@functools.cache
@st.composite
def gradient_lists(draw, fmt: dtypes.Format) -> list[np.ndarray]:
    """The gradients of one of PARAMETER_SHAPES' networks, exact in ``fmt``: elements 0 or of magnitude in
    [1/16, 1], either sign, times one power of two per list."""
    scale = 2.0 ** draw(_exponents(fmt), label="exponent")
    grads = []
    for shape in draw(st.sampled_from(PARAMETER_SHAPES), label="shapes"):
        magnitude = draw(hnp.arrays(np.float64, shape, elements=st.one_of(st.floats(0.0625, 1.0), st.just(0.0)),
                                    fill=st.nothing()))  # no arrays filled with one value: zeros only now and then
        negative = draw(hnp.arrays(np.bool_, shape))
        grads.append(fmt.round(np.where(negative, -magnitude, magnitude) * scale))
    return grads


def _threshold(draw, size: float, regime: str, fmt: dtypes.Format) -> float:
    """A positive threshold exact in ``fmt`` in ``regime`` against ``size`` (a norm, or a largest magnitude)."""
    if size == 0.0:
        return 1.0
    u = fmt.unit_roundoff
    if regime == "below":
        value = size / draw(st.floats(1.5, 50.0), label="norm / threshold")
    elif regime == "near":
        value = size * (1.0 + 2.0 * u * draw(st.integers(-4, 4), label="ulps from the norm"))
    else:
        value = size * draw(st.floats(2.0, 100.0), label="threshold / norm")
    return float(fmt.round(np.asarray(value)))


@functools.cache
@st.composite
def clipping_cases(draw, mode: str, fmt: dtypes.Format) -> tuple[list[np.ndarray], dict[str, float]]:
    """(grads, hyper) for ``mode``: a gradient list and a threshold in one of the REGIMES against the global norm
    ("global_norm"), one tensor's norm ("per_tensor_norm") or the largest magnitude ("value"; "near" is then one
    of the magnitudes itself, within a few ulps)."""
    grads, regime = draw(gradient_lists(fmt)), draw(st.sampled_from(REGIMES), label="regime")
    if mode == "value":
        return grads, {"clip_value": _threshold(draw, float(max(np.max(np.abs(g)) for g in grads)), regime, fmt)}
    group = grads if mode == "global_norm" else [draw(st.sampled_from(grads), label="tensor")]
    size = math.sqrt(math.fsum(float(v) ** 2 for g in group for v in np.ravel(g)))
    return grads, {"max_norm": _threshold(draw, size, regime, fmt)}


#: Scripted cases, each (mode, grads, hyper): zero gradients (no division by zero), an infinite and a NaN
#: element (what a non-finite norm does), the norm exactly at the threshold (PyTorch's eps still scales), and the
#: infinity norm (PyTorch only; others report unsupported).
SCRIPTED: Mapping[str, list[tuple[str, list[np.ndarray], dict[str, float]]]] = {
    "zero": [(mode, [np.zeros(3), np.zeros((2, 2))], hyper)
             for mode, hyper in (("global_norm", {"max_norm": 1.0}), ("per_tensor_norm", {"max_norm": 1.0}),
                                 ("value", {"clip_value": 1.0}))],
    "nonfinite": [(mode, [np.array([1.0, value]), np.array([[2.0, -3.0]])], hyper)
                  for value in (np.inf, -np.inf, np.nan)
                  for mode, hyper in (("global_norm", {"max_norm": 1.0}), ("per_tensor_norm", {"max_norm": 1.0}),
                                      ("value", {"clip_value": 1.5}))],
    "boundary": [("global_norm", [np.array([0.6]), np.array([[0.0, 0.8]])], {"max_norm": 1.0}),
                 ("global_norm", [np.array([3.0]), np.array([[4.0, 0.0]])], {"max_norm": 5.0}),
                 ("per_tensor_norm", [np.array([3.0, 4.0]), np.array([[5.0]])], {"max_norm": 5.0})],
    "inf_norm": [(mode, [np.array([0.5, -4.0]), np.array([[2.0, 1.0]])], {"max_norm": 2.0, "norm_type": math.inf})
                 for mode in ("global_norm", "per_tensor_norm")],
}


# --- the check ---------------------------------------------------------------------------------------------------

def check(backend: Backend, mode: str, grads: Sequence[np.ndarray], hyper: Mapping[str, object],
          fmt: dtypes.Format) -> dict[str, Comparison]:
    """The backend's clipped gradients against the reference's under the declared conventions, tensor by tensor."""
    grads = [fmt.round(np.asarray(g, dtype=np.float64)) for g in grads]
    observed = backend.clip_gradients(mode, grads, dict(hyper), fmt.name)
    return judge(observed, mode, grads, hyper, backend.capabilities().conventions.get("gradient_clipping", {}), fmt)


def judge(observed: Sequence[np.ndarray], mode: str, grads: Sequence[np.ndarray], hyper: Mapping[str, object],
          conventions: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Clipped gradients a backend returned for ``grads`` (exact in ``fmt``) against the reference's under
    ``conventions``, tensor by tensor."""
    expected = gradient_clipping.clip(list(grads), mode=mode, **hyper, **conventions)
    if len(observed) != len(expected):
        return {"tensors": Comparison(math.inf, problem=f"{len(observed)} tensors returned for {len(expected)}")}
    allowed = budgets(mode, grads, expected, hyper, conventions, fmt)
    return {f"clipped grad{i}": compare(np.asarray(o, dtype=np.float64), e, b)
            for i, (o, e, b) in enumerate(zip(observed, expected, allowed))}


def identify(backend: Backend, fmt: dtypes.Format = dtypes.FLOAT64) -> list[dict[str, object]]:
    """The conventions (each combination of the reference's ``CONVENTIONS``) under which the backend's clipping of
    the SCRIPTED threshold and non-finite cases is within budget: its fingerprint, whatever it declares. The two
    cases separate every pair in float64 (1e-6 against a budget near 1e-15; an infinite element's finite
    neighbours 0 or NaN)."""
    probes = [(mode, [fmt.round(np.asarray(g, dtype=np.float64)) for g in grads], hyper)
              for mode, grads, hyper in SCRIPTED["boundary"] + SCRIPTED["nonfinite"]]
    observed = [backend.clip_gradients(mode, grads, dict(hyper), fmt.name) for mode, grads, hyper in probes]
    combinations = [dict(zip(gradient_clipping.CONVENTIONS, values))
                    for values in itertools.product(*gradient_clipping.CONVENTIONS.values())]
    return [conventions for conventions in combinations
            if all(c.ok for out, (mode, grads, hyper) in zip(observed, probes)
                   for c in judge(out, mode, grads, hyper, conventions, fmt).values())]


def case(mode: str, grads: Sequence[np.ndarray], hyper: Mapping[str, object], anchor: str) -> dict[str, object]:
    """The replayable record of a check (``nnspec replay``): the tensors exact, the threshold as JSON."""
    return {"kind": "clip_gradients", "primitive": "gradient_clipping",
            "arrays": {f"grad{i}": np.asarray(g, dtype=np.float64) for i, g in enumerate(grads)},
            "params": {"mode": mode, "hyper": {k: float(v) for k, v in hyper.items()}}, "spec": f"{SPEC}#{anchor}"}


def run_case(backend: Backend, recorded: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded ``clip_gradients`` case against ``backend`` in ``fmt`` (its ``dtype``, resolved by
    ``checks.run_case``)."""
    arrays, params = recorded["arrays"], recorded["params"]
    grads = [arrays[f"grad{i}"] for i in range(len(arrays))]
    return check(backend, params["mode"], grads, params["hyper"], fmt)
