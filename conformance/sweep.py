"""Exhaustive sweeps: every input of an elementwise primitive in a floating-point format, judged element by element.

A 16-bit format has 65,536 bit patterns, so the suite checks all of them in one backend call per primitive,
direction and dtype (conformance/test_sweeps.py, part of the ``ci`` profile). float32 has 2**32: ``nnspec sweep``
streams them in chunks (memory stays flat), over processes, with a progress bar and a resumable checkpoint
(nnspec.conformance.sweep_runner).

Each chunk is judged exactly as the Hypothesis checks judge an example (nnspec.conformance.checks): the backend's
result against the float64 reference evaluated with the backend's declared conventions, under the per-element
budgets of nnspec.conformance.budgets, with the backend's element-wise known issues excused. Failing inputs are
grouped by class (``CLASSES``) and the worst few of each class are kept, for the message and a replayable case.

Spec: docs/sweeps.md
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import budgets, checks, excuses
from nnspec.conformance.comparison import Comparison, compare, compare_elements
from nnspec.reference import catalogue, dtypes

__all__ = ["EXHAUSTIVE", "CLASSES", "DIRECTIONS", "ELEMENTWISE", "values", "classes", "Judged", "judge", "Tally",
           "tally", "describe", "worst_inputs"]

#: Formats whose every bit pattern the ``ci`` profile checks in one call.
EXHAUSTIVE = ("float16", "bfloat16")
#: Input classes, in the order failures are reported: +-0, +-inf and NaN; subnormals; the two lowest binades of
#: normals; the normals between; the two highest binades (near overflow).
CLASSES = ("special", "subnormal", "tiny normal", "normal", "huge")
DIRECTIONS = ("forward", "backward")
ELEMENTWISE = tuple(p.name for p in catalogue.PRIMITIVES if p.kind == "elementwise")
#: How many of the worst failing inputs of each class are kept.
WORST_PER_CLASS = 3
#: ``nnspec sweep`` writes its checkpoint at most this often (and when it stops).
CHECKPOINT_SECONDS = 10.0

_UNSIGNED = {"float16": (np.uint16, np.float16), "float32": (np.uint32, np.float32)}


def bit_width(dtype: str) -> int:
    """Bits of a format's encoding: 16 for float16 and bfloat16, 32 for float32."""
    widths = {"float16": 16, "bfloat16": 16, "float32": 32}
    if dtype not in widths:
        raise ValueError(f"sweep.bit_width: dtype must be one of {', '.join(widths)}, got {dtype!r}")
    return widths[dtype]


def values(dtype: str, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The values of bit patterns ``start`` to ``stop - 1`` of ``dtype`` (every pattern by default), as float64.

    Example:
        >>> values("float16", 0x3C00, 0x3C02).tolist()  # 1.0 and the next float16
        [1.0, 1.0009765625]
    """
    width = bit_width(dtype)
    stop = 2**width if stop is None else stop
    if not 0 <= start <= stop <= 2**width:
        raise ValueError(f"sweep.values: need 0 <= start <= stop <= 2**{width}, got start={start}, stop={stop}")
    if dtype == "bfloat16":  # bfloat16 is the upper half of a float32
        bits, floating = np.arange(start, stop, dtype=np.uint32) << np.uint32(16), np.float32
    else:
        unsigned, floating = _UNSIGNED[dtype]
        bits = np.arange(start, stop, dtype=np.uint64).astype(unsigned)
    with np.errstate(invalid="ignore"):  # signalling NaNs become quiet ones
        return bits.view(floating).astype(np.float64)


def classes(x: np.ndarray, fmt: dtypes.Format) -> np.ndarray:
    """The index in ``CLASSES`` of each value of ``x`` (exact in ``fmt``).

    Example:
        >>> x = np.array([0.0, 2.0 ** -24, 2.0 ** -14, 1.0, 60000.0, np.nan])
        >>> classes(x, dtypes.FORMATS["float16"]).tolist()
        [0, 1, 2, 3, 4, 0]
    """
    magnitude = np.abs(np.asarray(x, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return np.select(
            [(magnitude == 0) | ~np.isfinite(magnitude), magnitude < fmt.tiny, magnitude < 4 * fmt.tiny,
             magnitude < 2.0 ** (fmt.max_exponent - 1)],
            [0, 1, 2, 3], default=4)


@dataclass(frozen=True)
class Judged:
    """One primitive and direction judged at every element of ``x``: what the backend and the reference gave, the
    budget, error/budget (``ratio``, 0 where excused), and where a known issue excused a mismatch."""

    x: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    budget: np.ndarray
    ratio: np.ndarray
    comparison: Comparison
    excused: np.ndarray | None = None


def _reference(primitive: str, direction: str, x: np.ndarray, ref_params: Mapping[str, object],
               fmt: dtypes.Format) -> tuple[np.ndarray, np.ndarray]:
    """The float64 reference's value (forward, or the VJP with grad_output = 1) at ``x`` and its budget."""
    module = catalogue.get(primitive).module
    with np.errstate(all="ignore"):
        if direction == "forward":
            return (module.forward(x, **checks._accepted(module.forward, ref_params)),
                    budgets.forward(primitive, {"x": x}, ref_params, fmt))
        ones = np.ones_like(x)
        return (module.backward(x, grad_output=ones, **checks._accepted(module.backward, ref_params)),
                budgets.backward(primitive, {"x": x}, ones, ref_params, fmt)["x"])


def judge(backend: Backend, primitive: str, direction: str, x: np.ndarray, fmt: dtypes.Format) -> Judged:
    """Judge ``backend``'s ``primitive`` in ``fmt`` (its forward, or its VJP with grad_output = 1; the backend
    and its known issues get the format's name) at every element of ``x``,
    as nnspec.conformance.checks.forward / vjp judge an example (same reference, conventions, budgets, excuses).

    One addition, for the inputs those checks never draw: a subnormal input may be read as zero of its sign
    (denormals-are-zero hardware; docs/spec/error-budgets.md#method, docs/sweeps.md#subnormal-inputs), so there
    the backend meets the reference at x or at +-0, whichever it is closer to.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"sweep.judge: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    entry = catalogue.get(primitive)
    if entry.kind != "elementwise":
        raise ValueError(f"sweep.judge: primitive must be elementwise, got {primitive!r} ({entry.kind})")
    params, ref_params = dict(entry.params), checks.reference_params(backend, primitive, {})
    if direction == "forward":
        observed = backend.forward(primitive, {"x": x}, params, fmt.name)
        excused, ids = excuses.element_mask(backend, primitive, "forward", {"x": x}, params, fmt.name)
    else:
        observed = backend.vjp(primitive, {"x": x}, params, np.ones_like(x), fmt.name).get("x")
        excused, ids = excuses.element_mask(backend, primitive, "vjp", {"x": x, "grad_output": np.ones_like(x)},
                                            params, fmt.name)
    expected, budget = _reference(primitive, direction, x, ref_params, fmt)
    budget = np.array(np.broadcast_to(budget, x.shape))
    overflow = fmt.overflow
    if observed is None:
        return Judged(x, np.full_like(x, np.nan), expected, budget, np.full_like(x, np.inf),
                      Comparison(float("inf"), problem="the backend returned no gradient for 'x'"))
    observed = np.asarray(observed, dtype=np.float64)
    ratio = compare_elements(observed, expected, budget, overflow)
    subnormal = np.flatnonzero((x != 0) & (np.abs(x) < fmt.tiny))
    if subnormal.size:
        at_zero, zero_budget = _reference(primitive, direction, np.copysign(0.0, x[subnormal]), ref_params, fmt)
        zero_budget = np.broadcast_to(zero_budget, subnormal.shape)
        closer = compare_elements(observed[subnormal], at_zero, zero_budget, overflow) < ratio[subnormal]
        expected, budget = expected.copy(), budget.copy()
        expected[subnormal[closer]], budget[subnormal[closer]] = at_zero[closer], zero_budget[closer]
        ratio = compare_elements(observed, expected, budget, overflow)
    comparison = compare(observed, expected, budget, excused, ids, overflow)
    if excused is not None:
        excused = np.broadcast_to(excused, ratio.shape) & (ratio > 1.0)
        ratio = np.where(excused, 0.0, ratio)
    return Judged(x, observed, expected, budget, ratio, comparison, excused)


@dataclass
class Tally:
    """One class of inputs: how many were checked, failed, and mismatched but were excused by the known issues
    ``known``; the worst error/budget, and the worst failures as (ratio, x, observed, expected, budget) tuples."""

    checked: int = 0
    failed: int = 0
    worst_ratio: float = 0.0
    worst: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    excused: int = 0
    known: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.checked += other.checked
        self.failed += other.failed
        self.excused += other.excused
        self.known = sorted(set(self.known) | set(other.known))
        self.worst_ratio = max(self.worst_ratio, other.worst_ratio)
        merged, seen = [], set()
        for w in sorted(self.worst + other.worst, key=lambda w: -w[0]):
            key = "nan" if np.isnan(w[1]) else w[1]
            if key not in seen and len(merged) < WORST_PER_CLASS:
                seen.add(key)
                merged.append(w)
        self.worst = merged


def tally(judged: Judged, fmt: dtypes.Format) -> dict[str, Tally]:
    """Group ``judged``'s elements by input class (of ``fmt``): counts, worst ratio, and the worst failing inputs."""
    kind = classes(judged.x, fmt)
    result = {}
    for index, name in enumerate(CLASSES):
        members = np.flatnonzero(kind == index)
        ratios = judged.ratio[members]
        failing = members[ratios > 1.0]
        worst = _distinct(judged.x, failing[np.argsort(-judged.ratio[failing], kind="stable")])
        excused = 0 if judged.excused is None else int(np.count_nonzero(judged.excused[members]))
        result[name] = Tally(int(members.size), int(failing.size), float(ratios.max(initial=0.0)),
                             [(float(judged.ratio[i]), float(judged.x[i]), float(judged.observed[i]),
                               float(judged.expected[i]), float(judged.budget[i])) for i in worst],
                             excused, sorted(judged.comparison.known) if excused else [])
    return result


def _distinct(x: np.ndarray, order: np.ndarray) -> list[int]:
    """The first ``WORST_PER_CLASS`` indices of ``order`` with distinct values of ``x`` (NaNs count as one)."""
    seen, kept = set(), []
    for index in order:
        key = "nan" if np.isnan(x[index]) else float(x[index]).hex()
        if key not in seen:
            seen.add(key)
            kept.append(int(index))
            if len(kept) == WORST_PER_CLASS:
                break
    return kept


def describe(tallies: Mapping[str, Tally]) -> list[str]:
    """One line per class with failures: how many of how many inputs fail, and the worst few."""
    lines = []
    for name, t in tallies.items():
        if t.excused:
            lines.append(f"  {name}: {t.excused} of {t.checked} inputs excused by known issues {', '.join(t.known)}")
        if t.failed:
            worst = "; ".join(f"x={x!r}: observed {o!r}, expected {e!r}, error/budget {r:.3g}"
                              for r, x, o, e, _ in t.worst)
            lines.append(f"  {name}: {t.failed} of {t.checked} inputs fail; worst: {worst}")
    return lines


#: A replay case has at least this many entries: kernels take another path for short arrays (torch's float32 GELU
#: gradient: std::erf for one element, an approximate vectorised erf from two; Eigen's logistic from 8), so the
#: worst inputs are repeated up to the widest vector (16 float32 lanes of AVX-512).
REPLAY_MIN_SIZE = 16


def worst_inputs(tallies: Mapping[str, Tally]) -> np.ndarray:
    """The worst failing inputs of every class, in class order, repeated up to ``REPLAY_MIN_SIZE`` entries: a
    small case that replays the failure on the path the sweep's long arrays took."""
    worst = np.array([w[1] for t in tallies.values() for w in t.worst], dtype=np.float64)
    return np.resize(worst, max(worst.size, REPLAY_MIN_SIZE)) if worst.size else worst

