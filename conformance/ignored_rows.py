"""The metamorphic check of ``ignore_index`` (docs/spec/losses.md#ignored-rows): a batch with ignored rows and
the same batch with those rows removed give the same "mean" and "sum", and the same gradient on every kept row;
each ignored row's gradient is exactly 0. Both sides are the backend's own results; each is within its budget
of the exact value (the rooms' bounds, under the backend's conventions), so they differ by at most the sum.

A failing case is written with kind ``ignored_rows`` and replays through :func:`run_case`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import budgets, checks, excuses
from nnspec.conformance.comparison import Comparison, compare
from nnspec.reference import catalogue, dtypes

__all__ = ["compare_removed", "case", "run_case"]


def _removed(primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object]):
    """(the kept rows' arrays and params without ignore_index, the kept mask (N,)) of an (N, C) batch."""
    prediction = catalogue.get(primitive).inputs[0]
    kept = np.asarray(arrays["target"]) != params["ignore_index"]
    return ({prediction: np.asarray(arrays[prediction])[kept], "target": np.asarray(arrays["target"])[kept]},
            {k: v for k, v in params.items() if k != "ignore_index"}, kept)


def _excused(backend, primitive, kind, cases, dtype):
    """Whether a known issue of the backend covers either side (a reduced loss: all or nothing), and its ids."""
    hit, ids = False, ()
    for arrays, params in cases:
        mask, found = excuses.element_mask(backend, primitive, kind, arrays, params, dtype)
        if mask is not None and bool(np.any(mask)):
            hit, ids = True, ids + found
    return hit, ids


def compare_removed(backend: Backend, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
                    fmt: dtypes.Format) -> dict[str, Comparison]:
    """The loss and the gradient (upstream 1) of the batch against those of its kept rows in ``fmt``; ``params`` holds
    ``ignore_index`` and a reduction "mean" or "sum"."""
    prediction = catalogue.get(primitive).inputs[0]
    kept_arrays, kept_params, kept = _removed(primitive, arrays, params)
    sides = [(dict(arrays), dict(params)), (kept_arrays, kept_params)]
    overflow = fmt.overflow
    ref = [checks.reference_params(backend, primitive, p) for _, p in sides]
    loss_budget = sum(budgets.forward(primitive, a, r, fmt) for (a, _), r in zip(sides, ref))
    full, part = (backend.forward(primitive, a, p, fmt.name) for a, p in sides)
    hit, ids = _excused(backend, primitive, "forward", sides, fmt.name)
    result = {"loss": compare(full, part, loss_budget, np.asarray(hit) if ids else None, ids, overflow)}
    one = np.asarray(1.0)
    grad_full, grad_part = (backend.vjp(primitive, a, p, one, fmt.name)[prediction] for a, p in sides)
    budget_full, budget_part = (budgets.backward(primitive, a, one, r, fmt)[prediction]
                                for (a, _), r in zip(sides, ref))
    hit, ids = _excused(backend, primitive, "vjp", [({**a, "grad_output": one}, p) for a, p in sides], fmt.name)
    result["grad of kept rows"] = compare(grad_full[kept], grad_part, budget_full[kept] + budget_part,
                                          np.asarray(hit) if ids else None, ids, overflow)
    result["grad of ignored rows"] = compare(grad_full[~kept], np.zeros_like(grad_full[~kept]), 0.0)
    return result


def case(primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object]) -> dict[str, object]:
    """The recorded case (``Checker.expect``) of one check."""
    return {"kind": "ignored_rows", "primitive": primitive, "arrays": dict(arrays), "params": dict(params),
            "spec": "docs/spec/losses.md#ignored-rows"}


def run_case(backend: Backend, case: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded ``ignored_rows`` case against ``backend`` in ``fmt`` (resolved by ``checks.run_case``)."""
    return compare_removed(backend, case["primitive"], case["arrays"], case["params"], fmt)
