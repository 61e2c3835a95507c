"""A test's gateway to the backend: each check goes through the guarded backend, is judged against its error
budget (known issues by the one rule of ``excuses``), recorded, and fails with a replayable message."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pytest

from nnspec.conformance import checks, excuses, sweep, variants
from nnspec.conformance.comparison import Comparison
from nnspec.conformance.guard import (
    BackendError,
    BackendFault,
    BackendTimeout,
    GuardedBackend,
    NotCalledAfterTimeout,
)
from nnspec.reference import catalogue, dtypes

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:  # pragma: no cover - Hypothesis installs the backport on Python 3.10
    from exceptiongroup import ExceptionGroup

if TYPE_CHECKING:
    from nnspec.conformance.session import Record, Session

__all__ = ["Checker", "BudgetExceeded", "input_class", "failure_label", "failure_key"]


def _show(array: np.ndarray | None) -> str:
    if array is None:
        return "None"
    array = np.asarray(array)
    if array.dtype.kind != "f":
        return np.array2string(array, separator=", ", threshold=24)
    return np.array2string(array, separator=", ", threshold=24, floatmode="unique")


def _slug(backend_name: str, nodeid: str, label: str = "") -> str:
    """A case-file name that stays short and safe whatever the backend's name; ``label`` (the failure's input
    class or error type) is kept as a suffix, so each distinct failure of a test has its own file."""
    text = f"{backend_name}-{nodeid.split('::')[-1]}"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text)
    suffix = "-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", label) if label else ""
    if len(slug) + len(suffix) > 120:
        slug = slug[:107 - len(suffix)] + "-" + hashlib.sha1(text.encode()).hexdigest()[:12]
    return slug + suffix


class BudgetExceeded(AssertionError):
    """A value outside its error budget, raised as the subclass of the failing input's class (:func:`input_class`).

    Hypothesis tells failures apart by exception type and raise site (``InterestingOrigin``), so one test that
    fails at an infinite input and, separately, at a huge one is shrunk and reported twice, one minimal example
    per class, not only the first failure found (docs/report-schema.md#distinct-failures).
    """

    input_class = ""
    #: the hyperparameter variant of the failing case (``variants.variant``): "" for none
    variant = ""

    @staticmethod
    def for_class(name: str, variant: str = "") -> type[BudgetExceeded]:
        """The exception for input class ``name`` (one of ``sweep.CLASSES``) in hyperparameter ``variant``: one
        subclass per (class, variant), made once and kept, so Hypothesis keeps one minimal example of each."""
        if not variant:
            return _BY_CLASS[name]
        if (name, variant) not in _BY_VARIANT:
            base = _BY_CLASS[name]
            _BY_VARIANT[name, variant] = type(f"{base.__name__}[{variant}]", (base,), {
                "variant": variant, "__module__": __name__, "__reduce__": _reduce})
        return _BY_VARIANT[name, variant]


class SpecialValueExceeded(BudgetExceeded):
    input_class = "special"


class SubnormalExceeded(BudgetExceeded):
    input_class = "subnormal"


class TinyNormalExceeded(BudgetExceeded):
    input_class = "tiny normal"


class NormalExceeded(BudgetExceeded):
    input_class = "normal"


class HugeExceeded(BudgetExceeded):
    input_class = "huge"


_BY_CLASS = {error.input_class: error for error in (SpecialValueExceeded, SubnormalExceeded, TinyNormalExceeded,
                                                     NormalExceeded, HugeExceeded)}
_BY_VARIANT: dict[tuple[str, str], type[BudgetExceeded]] = {}


def _reduce(error: BudgetExceeded):
    """Pickle a per-variant exception by (class, variant): its type is made at run time, not a module name."""
    return _rebuild, (error.input_class, error.variant, error.args)


def _rebuild(name: str, variant: str, args: tuple) -> BudgetExceeded:
    return BudgetExceeded.for_class(name, variant)(*args)

#: An input within this factor of the format's largest finite value is "huge" (the sweeps' two top binades,
#: widened: the suite's draws reach a quarter of the maximum, where exp, squares and x**3 overflow).
HUGE_FACTOR = 2.0**4


def input_class(values: np.ndarray, fmt: dtypes.Format) -> str:
    """The input class (``sweep.CLASSES``) of a failing element's input ``values`` in ``fmt``: a NaN or infinity
    among them makes it "special"; otherwise the class of the largest magnitude (a single element: its own
    class), with "huge" from ``max / HUGE_FACTOR`` up.

    Example:
        >>> [input_class(np.array([v]), dtypes.FORMATS["float32"]) for v in (-np.inf, 0.0, 1e-45, 1.0, 3e38)]
        ['special', 'special', 'subnormal', 'normal', 'huge']
    """
    values = np.ravel(np.asarray(values, dtype=np.float64))
    if values.size == 0:
        return "normal"
    if not np.all(np.isfinite(values)):
        return "special"
    largest = float(np.max(np.abs(values)))
    if largest >= fmt.max / HUGE_FACTOR:
        return "huge"
    return sweep.CLASSES[int(sweep.classes(np.array([largest]), fmt)[0])]


class DistinctFailures(ExceptionGroup, AssertionError):
    """The budget failures of one example at inputs of different classes (NaN at -inf and inf at the largest
    float, say), one :class:`BudgetExceeded` each; still an AssertionError for code that catches one."""


def _worst_by_class(case: Mapping, name: str, worst: Comparison, fmt: dtypes.Format) -> dict[str, Comparison]:
    """The worst failing element of each input class, in the order of ``sweep.CLASSES``."""
    found: dict[str, Comparison] = {}
    for index, observed, expected, budget, ratio in worst.failing or ((worst.index, 0.0, 0.0, 0.0, worst.ratio),):
        failing = input_class(_failing_input(case, name, index), fmt)
        if failing not in found or ratio > found[failing].ratio:
            found[failing] = worst if index == worst.index else dataclasses.replace(
                worst, ratio=ratio, index=index, observed=observed, expected=expected, budget=budget)
    return {label: found[label] for label in sweep.CLASSES if label in found}


def _failing_input(case: Mapping, name: str, index: tuple[int, ...] | None) -> np.ndarray:
    """The input behind a comparison's worst element: of array X for "grad of X", else of the case's first float
    array (the primitive's main input); the element at the worst index where the shapes line up (elementwise),
    the slice it indexes (a row of a row-wise primitive), or the whole array when nothing lines up."""
    floats = {k: np.asarray(v) for k, v in case.get("arrays", {}).items()
              if v is not None and np.asarray(v).dtype.kind == "f"}
    wrt = name.removeprefix("grad of ")
    array = floats.get(wrt, next(iter(floats.values()), np.zeros(0)))
    if index is not None and array.ndim >= len(index) and all(i < n for i, n in zip(index, array.shape)):
        return array[index]
    return array


def failure_label(error: BaseException) -> str:
    """The key of a distinct failure: the input class of a budget failure, else the exception's type name."""
    return error.input_class if isinstance(error, BudgetExceeded) else type(error).__name__


def failure_key(error: BaseException) -> tuple[str, str]:
    """A distinct failure's (label, hyperparameter variant): :func:`failure_label` and the case's variant."""
    return failure_label(error), error.variant if isinstance(error, BudgetExceeded) else ""


class Checker:
    """A test's gateway to the backend. Each check records error/budget and fails with a replayable message."""

    def __init__(self, session: Session, record: Record) -> None:
        self.session = session
        self.record = record
        #: the dtype's name, as the backend protocol, the case files and the report take it
        self.dtype = record.dtype
        #: the same dtype resolved once (docs/architecture.md#the-dtype-at-the-seams): the suite's budgets,
        #: strategies and rooms take the Format
        self.fmt = dtypes.get(record.dtype)

    @property
    def backend(self) -> GuardedBackend:
        return self.session.backend

    def require(self, primitive: str, prop: str, *, feature: str | None = None, options: tuple[str, ...] = ()) -> None:
        """Skip as *unsupported* unless the backend declares the primitive (or feature), the dtype and each of
        the primitive's ``options`` (``Capabilities.options``, named in ``catalogue.OPTIONS``)."""
        if self.record.primitive == "?":  # a test that needs several primitives is filed under the first
            self.record.primitive, self.record.prop = primitive, prop
        caps = self.backend.capabilities()
        if feature is not None and feature not in caps.features:
            pytest.skip(f"unsupported: {self.backend.name} does not declare {feature!r}")
        if feature is None and primitive not in caps.primitives:
            pytest.skip(f"unsupported: {self.backend.name} does not declare {primitive!r}")
        if not caps.declares_dtype(feature or primitive, self.dtype):
            pytest.skip(f"unsupported: {self.backend.name} does not declare dtype {self.dtype} for "
                        f"{feature or primitive}")
        missing = [option for option in options if option not in caps.options.get(primitive, frozenset())]
        if missing:
            pytest.skip(f"unsupported: {self.backend.name} does not declare option {missing[0]!r} of {primitive}")

    def _guarded(self, case: dict, compute):
        """Run a check; a backend fault or error saves the case (pristine inputs) before it propagates, unless a
        known issue covers these inputs and the backend raised (then the example is excused: None)."""
        try:
            return compute()
        except NotCalledAfterTimeout:
            raise  # the message of the call that timed out stands
        except BackendError as error:
            arrays = dict(case["arrays"])
            if case.get("grad_output") is not None:
                arrays["grad_output"] = case["grad_output"]
            params = {**catalogue.get(case["primitive"]).params, **case.get("params", {})}
            ids = excuses.raising(self.backend, case["primitive"], case["kind"], arrays, params, self.dtype)
            if ids:
                self.record.examples += 1
                self.record.excused_examples += 1
                self.record.fully_excused_examples += 1
                self.record.known_issues.update(ids)
                return None
            self._save_and_describe(case, f"{type(error).__name__}: {error}", label=failure_label(error))
            raise
        except (BackendFault, BackendTimeout) as error:
            self._save_and_describe(case, f"{type(error).__name__}: {error}", label=failure_label(error))
            raise

    def forward(self, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object] | None = None):
        params = dict(params or {})
        case = dict(kind="forward", primitive=primitive, arrays=dict(arrays), params=params)
        comparison = self._guarded(case, lambda: checks.forward(self.backend, primitive, arrays, params,
                                                                self.fmt))
        if comparison is not None:
            self._judge({"output": comparison}, case)

    def vjp(self, primitive: str, arrays: Mapping[str, np.ndarray], grad_output: np.ndarray,
            params: Mapping[str, object] | None = None):
        params = dict(params or {})
        case = dict(kind="vjp", primitive=primitive, arrays=dict(arrays), params=params, grad_output=grad_output)
        comparisons = self._guarded(case, lambda: checks.vjp(self.backend, primitive, arrays, params, grad_output,
                                                             self.fmt))
        if comparisons is not None:
            self._judge({f"grad of {k}": c for k, c in comparisons.items()}, case)

    def vjp_oracle(self, primitive: str, x: np.ndarray) -> None:
        """Check an elementwise primitive's derivative against the SymPy oracle."""
        case = dict(kind="vjp_oracle", primitive=primitive, arrays={"x": x}, params={})
        comparison = self._guarded(case, lambda: checks.vjp_oracle(self.backend, primitive, x, self.fmt))
        if comparison is not None:
            self._judge({"grad of x": comparison}, case)

    def network(self, layers, x: np.ndarray, target: np.ndarray, loss: str, reduction: str) -> None:
        """Check a network's loss and parameter gradients; ``layers`` are (weight, bias, activation)."""
        arrays = {"x": x, "target": target}
        for index, (weight, bias, _) in enumerate(layers):
            arrays[f"weight{index}"], arrays[f"bias{index}"] = weight, bias
        params = {"loss": loss, "reduction": reduction, "activations": [act for _, _, act in layers]}
        case = dict(kind="network", primitive="network", arrays=arrays, params=params)
        comparisons = self._guarded(case, lambda: checks.network(self.backend, layers, x, target, loss,
                                                                 {"reduction": reduction}, self.fmt))
        self._judge(comparisons, case)

    def expect(self, comparisons: Mapping[str, Comparison], case: Mapping[str, object]) -> None:
        """Judge comparisons a test computed itself, with the same recording and failure message.

        ``case`` holds ``kind`` (a check kind that ``checks.run_case`` can replay, or any label), ``primitive``
        (a name for the report), ``arrays`` (name -> numpy array or None: written exactly to the case file),
        ``params`` (JSON-serialisable), optionally ``grad_output`` and ``spec`` (the spec section).
        """
        self._judge(dict(comparisons), dict(case))

    def _judge(self, comparisons: dict[str, Comparison], case: dict) -> None:
        self.record.examples += 1
        partly = any(c.known for c in comparisons.values())
        for comparison in comparisons.values():
            self.record.known_issues.update(comparison.known)
        worst_name = max(comparisons, key=lambda k: comparisons[k].ratio)
        worst = comparisons[worst_name]
        excuse = None if worst.ok else excuses.whole_case(self.backend, case, self.dtype)
        if excuse is not None:
            self.record.known_issues.add(excuse)
            self.record.excused_examples += 1
            self.record.fully_excused_examples += 1
            return
        if partly:
            self.record.excused_examples += 1
        if any(c.excused for c in comparisons.values()) and sum(c.size - c.excused for c in comparisons.values()) == 0:
            self.record.fully_excused_examples += 1  # every element was under an excuse: nothing was judged
        self.record.worst_ratio = max(self.record.worst_ratio, worst.ratio)
        if worst.ok:
            return
        variant = variants.variant(case)
        within = f" with {variant}" if variant else ""
        errors = [BudgetExceeded.for_class(failing, variant)("\n".join(self._save_and_describe(
                      case, f"{worst_name} is outside its error budget (input class {failing}){within}",
                      comparison.describe(), label=failing, variant=variant)))
                  for failing, comparison in _worst_by_class(case, worst_name, worst, self.fmt).items()]
        if len(errors) == 1:
            raise errors[0]
        raise DistinctFailures(f"{len(errors)} distinct failures in one example", errors)

    def _save_and_describe(self, case: dict, headline: str, detail: str = "", *, label: str = "",
                           variant: str = "") -> list[str]:
        case.update(dtype=self.dtype, backend=self.session.backend_name, device=self.session.device,
                    backend_options=self.session.backend_options, test=self.record.nodeid)
        replay = ""
        if case.get("kind") is not None:
            name = _slug(self.backend.name, self.record.nodeid, f"{label}-{variant}" if variant else label)
            path = checks.save_case(self.session.case_dir / f"{name}.json", case)
            replay = self.session.replay_command(path)
        spec = case.get("spec") or (catalogue.get(case["primitive"]).spec if case.get("primitive") in
                                    catalogue.names() else "docs/spec/")
        lines = [f"{self.session.backend_name} ({self.session.device}) {self.dtype} {case.get('primitive', '?')} "
                 f"{self.record.prop}: {headline}"]
        if detail:
            lines.append(f"  {detail}")
        lines += [f"  spec: {spec}",
                  "  inputs: " + ", ".join(f"{k}={_show(v)}" for k, v in case.get("arrays", {}).items())]
        if case.get("grad_output") is not None:
            lines.append(f"  grad_output={_show(case['grad_output'])}")
        if case.get("params"):
            lines.append(f"  params: {case['params']}")
        if replay:
            lines.append(f"  replay this case: {replay}")
        lines.append(f"  rerun the test:   {self.session.rerun_command(self.record)}")
        self.record.message, self.record.replay = "\n".join(lines), replay
        self.record.add_failure(label, self.record.message, replay, variant)
        return lines
