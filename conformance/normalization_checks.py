"""The check of BatchNorm's running statistics, as a plain function of (backend, inputs): the test calls it, and
``nnspec replay`` re-runs a recorded case through :func:`run_case` (case kind ``batch_norm_running_stats``).

Spec: docs/spec/normalization.md#running-statistics (budgets: docs/spec/error-budgets.md#running-statistics)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance.comparison import Comparison, compare
from nnspec.conformance.errormodel import total
from nnspec.conformance.normalization import running_stats as room
from nnspec.reference import dtypes
from nnspec.reference.normalization import running_stats

__all__ = ["FEATURE", "running_statistics", "case", "run_case", "identify"]

FEATURE = "batch_norm_running_stats"


def running_statistics(backend: Backend, batches: Sequence[np.ndarray], momentum: float, x: np.ndarray,
                       weight: np.ndarray, bias: np.ndarray, eps: float, fmt: dtypes.Format) -> dict[str, Comparison]:
    """The running mean and variance after the batches, against the reference under the backend's declared
    conventions (momentum_weights, running_variance); the inference output at the running statistics the backend
    returned, so that a wrong inference formula is not hidden behind (or blamed on) the statistics."""
    conventions = dict(backend.capabilities().conventions.get(FEATURE, {}))
    observed_mean, observed_var, observed_y = backend.batch_norm_running_stats(
        list(batches), momentum, x, weight, bias, eps, fmt.name)
    expected_mean, expected_var = running_stats.after_batches(list(batches), momentum=momentum, **conventions)
    bounds = {f.name: room.statistics_bound(list(batches), momentum, conventions, f) for f in (fmt, dtypes.FLOAT64)}
    at = (np.asarray(observed_mean, dtype=np.float64), np.asarray(observed_var, dtype=np.float64))
    with np.errstate(all="ignore"):
        expected_y = running_stats.inference(x, weight, bias, *at, eps=eps)
        y_budget = total(lambda f: room.inference_bound(x, weight, bias, *at, eps, f), fmt)
    overflow = fmt.overflow
    return {
        "running_mean": compare(observed_mean, expected_mean, total(lambda f: bounds[f.name]["running_mean"], fmt),
                                overflow=overflow),
        "running_var": compare(observed_var, expected_var, total(lambda f: bounds[f.name]["running_var"], fmt),
                               overflow=overflow),
        "inference output": compare(observed_y, expected_y, y_budget, overflow=overflow),
    }


def case(batches: Sequence[np.ndarray], momentum: float, x, weight, bias, eps: float) -> dict[str, object]:
    """The replayable case of :func:`running_statistics` (``Checker.expect``)."""
    arrays = {f"batch{i}": batch for i, batch in enumerate(batches)}
    return {"kind": FEATURE, "primitive": FEATURE, "arrays": {**arrays, "x": x, "weight": weight, "bias": bias},
            "params": {"momentum": momentum, "eps": eps, "batches": len(batches)},
            "spec": "docs/spec/normalization.md#running-statistics"}


def run_case(backend: Backend, recorded: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded running-statistics case against ``backend`` in ``fmt`` (resolved by ``checks.run_case``)."""
    arrays, params = recorded["arrays"], recorded["params"]
    batches = [arrays[f"batch{i}"] for i in range(params["batches"])]
    return running_statistics(backend, batches, params["momentum"], arrays["x"], arrays["weight"], arrays["bias"],
                              params["eps"], fmt)


def identify(backend: Backend, fmt: dtypes.Format = dtypes.FORMATS["float32"]) -> list[dict[str, str]]:
    """The convention combinations (``running_stats.CONVENTIONS``) whose running statistics match the backend's
    on the room's fixed ``PROBE`` within budget: one for a backend that follows a named variant, none for one
    that follows none. The declaration is not consulted (docs/spec/normalization.md#running-statistics)."""
    probe = room.PROBE
    batches = [fmt.round(b) for b in probe["batches"]]
    observed = backend.batch_norm_running_stats(batches, probe["momentum"], probe["x"], probe["weight"],
                                                probe["bias"], probe["eps"], fmt.name)[:2]
    matches = []
    for values in itertools.product(*running_stats.CONVENTIONS.values()):
        variant = dict(zip(running_stats.CONVENTIONS, values))
        expected = running_stats.after_batches(batches, momentum=probe["momentum"], **variant)
        bounds = {f.name: room.statistics_bound(batches, probe["momentum"], variant, f) for f in (fmt, dtypes.FLOAT64)}
        if all(compare(o, e, total(lambda f, k=k, b=bounds: b[f.name][k], fmt)).ok
               for o, e, k in zip(observed, expected, ("running_mean", "running_var"))):
            matches.append(variant)
    return matches
