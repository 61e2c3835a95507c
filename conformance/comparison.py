"""The comparison: how one observed array is judged against its expected value under a per-element budget.

The budgets come from the rooms (through ``nnspec.conformance.budgets``) and the error model
(``nnspec.conformance.errormodel``); this module only applies them, with one set of rules for every check
(docs/spec/error-budgets.md#method): NaN meets NaN and an infinity the same infinity, exactly; a finite expected
value must be met within its budget; the ratio error / budget is what the report keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Comparison", "compare", "compare_elements", "elementwise_ratio", "exact"]

#: How many failing elements a comparison keeps (beyond its worst one) for the report.
FAILING_KEPT = 256


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one array with its expected value under a budget.

    ``ratio`` is max |observed - expected| / budget over the elements (0 when every element is exact; inf when
    a non-finite value does not match, or a shape differs). The worst element is kept for the message.
    """

    ratio: float
    index: tuple[int, ...] | None = None
    observed: float = float("nan")
    expected: float = float("nan")
    budget: float = float("nan")
    problem: str = ""
    known: tuple[str, ...] = ()
    #: elements compared, and how many of them a known issue covered (not judged: excused if they mismatched)
    size: int = 0
    excused: int = 0
    #: the failing elements (error/budget > 1), the first FAILING_KEPT of them, each (index, observed, expected,
    #: budget, ratio): a failure report tells apart failures at different kinds of input (checker.input_class)
    failing: tuple[tuple[tuple[int, ...], float, float, float, float], ...] = ()

    @property
    def ok(self) -> bool:
        return self.ratio <= 1.0

    def describe(self) -> str:
        if self.problem:
            return f"{self.problem} (error/budget inf)"
        if self.known and self.index is None:
            return f"within budget apart from known issues {', '.join(self.known)}"
        if self.index is None:
            return f"exact (error/budget {self.ratio:.3g})"
        return (f"worst element {self.index}: observed {self.observed!r}, expected {self.expected!r}, "
                f"error {abs(self.observed - self.expected):.3g}, budget {self.budget:.3g}, "
                f"error/budget {self.ratio:.3g}")


def compare(observed: np.ndarray, expected: np.ndarray, budget: np.ndarray,
            excused: np.ndarray | None = None, excused_by: tuple[str, ...] = (),
            overflow: float | None = None) -> Comparison:
    """Compare elementwise. NaN matches NaN and an infinity matches the same infinity, exactly; a finite
    expected value must be met within its budget. Elements where ``excused`` is true (a backend's known
    issues, ``excused_by``) are not judged; if any of them mismatched, the comparison names the issues.
    With ``overflow`` (the dtype's ``Format.overflow``), an infinity of the expected value's sign also meets a
    finite expected value whose budget reaches the overflow threshold: a result that may round to infinity
    (a float16 sum of 65520 is inf when correctly rounded).

    Example:
        >>> compare(np.array([1.0, 2.0]), np.array([1.0, 2.5]), np.array([1.0, 1.0])).ratio
        0.5
    """
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if observed.shape != expected.shape:
        return Comparison(float("inf"), problem=f"shape {observed.shape} where {expected.shape} was expected")
    budget = np.broadcast_to(np.nan_to_num(np.asarray(budget, dtype=np.float64), nan=0.0, posinf=np.inf),
                             expected.shape)  # a NaN budget (from an infinite input) demands the exact value
    both_nan = np.isnan(observed) & np.isnan(expected)
    same_inf = np.isinf(expected) & (observed == expected)
    if overflow is not None:
        with np.errstate(invalid="ignore", over="ignore"):  # near float64's max the sum is inf: may overflow
            may_overflow = np.isfinite(expected) & (np.abs(expected) + budget >= overflow)
        same_inf |= may_overflow & np.isinf(observed) & (np.sign(observed) == np.sign(expected))
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(both_nan | same_inf, 0.0, np.abs(observed - expected))
        error = np.where(np.isnan(error), np.inf, error)
        ratio = np.where(error == 0, 0.0, error / budget)
    known: tuple[str, ...] = ()
    excused_count = 0
    if excused is not None:
        excused = np.asarray(excused, dtype=bool)
        try:
            excused = np.broadcast_to(excused, ratio.shape)
        except ValueError:
            raise ValueError(f"known issue {', '.join(excused_by) or '?'}: its `where` returned a mask of shape "
                             f"{excused.shape}, which does not broadcast to the checked value's shape {ratio.shape}"
                             " (a loss reduced to one number needs a scalar mask: docs/adapters.md#known-issues)"
                             ) from None
        excused_count = int(np.sum(excused))
        known = excused_by if bool(np.any(excused & (ratio > 1))) else ()
        ratio = np.where(excused, 0.0, ratio)
    if ratio.size == 0 or np.max(ratio) == 0:
        return Comparison(0.0, known=known, size=int(ratio.size), excused=excused_count)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    failing = () if ratio[worst] <= 1 else tuple(  # only a failure lists its failing elements
        (tuple(int(i) for i in at), float(observed[at]), float(expected[at]), float(budget[at]), float(ratio[at]))
        for at in map(tuple, np.argwhere(ratio > 1)[:FAILING_KEPT]))
    return Comparison(float(ratio[worst]), tuple(int(i) for i in worst), float(observed[worst]),
                      float(expected[worst]), float(budget[worst]), known=known, size=int(ratio.size),
                      excused=excused_count, failing=failing)


def compare_elements(observed: np.ndarray, expected: np.ndarray, budget: np.ndarray,
                     overflow: float | None = None) -> np.ndarray:
    """error / budget of every element under :func:`compare`'s rules, before any excuse: ``compare`` reports the
    largest of these over the elements that are not excused. The exhaustive sweeps (nnspec.conformance.sweep)
    use it to group every failing input; tests/conformance/test_sweep_bugs.py checks that the two agree."""
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    budget = np.broadcast_to(np.nan_to_num(np.asarray(budget, dtype=np.float64), nan=0.0, posinf=np.inf),
                             expected.shape)
    same = (np.isnan(observed) & np.isnan(expected)) | (np.isinf(expected) & (observed == expected))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if overflow is not None:
            may_overflow = np.isfinite(expected) & (np.abs(expected) + budget >= overflow)
            same |= may_overflow & np.isinf(observed) & (np.sign(observed) == np.sign(expected))
        error = np.where(same, 0.0, np.abs(observed - expected))
        error = np.where(np.isnan(error), np.inf, error)
        return np.where(error == 0, 0.0, error / budget)


def exact(shape: tuple[int, ...] = ()) -> np.ndarray:
    """A zero budget: identities (eval mode, p = 0, the same seed), masks and epoch numbers must match exactly."""
    return np.zeros(shape)


def elementwise_ratio(observed: np.ndarray, expected: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """error / budget per element, with ``compare``'s rules (NaN meets NaN, inf the same inf, exactly): used to
    decide, element by element, which of two admissible outcomes (kept or dropped) a backend produced."""
    observed, expected = np.asarray(observed, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    budget = np.broadcast_to(np.asarray(budget, dtype=np.float64), expected.shape)
    same = (np.isnan(observed) & np.isnan(expected)) | (np.isinf(expected) & (observed == expected))
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(same, 0.0, np.abs(observed - expected))
        error = np.where(np.isnan(error), np.inf, error)
        return np.where(error == 0, 0.0, error / budget)
