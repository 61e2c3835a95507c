"""Checks of the initializers, as plain functions of (backend, inputs): the tests call them, and ``nnspec replay``
re-runs a recorded case through :func:`run_case`.

A framework's random weights differ from the reference's bit for bit, so the checks judge the law
(reference/initializers.py ``law`` and ``dense_default``, under the backend's declared conventions): the support
and the same seed exactly, the mean, the variance, the CDF and the independence of two seeds statistically, each
statistic failing a correct backend with probability at most ``errormodel.FALSE_ALARM_PER_CHECK`` (the bounds are
in the room, conformance/initializers.py). Spec: docs/spec/initializers.md#checks
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import initializers as room
from nnspec.conformance.comparison import Comparison, compare, exact
from nnspec.reference import dtypes
from nnspec.reference import initializers as init

__all__ = ["STATISTICS", "DEFAULT_STATISTICS", "normal_convention", "layer_convention", "statistic",
           "default_statistic", "run_case"]

STATISTICS = ("support", "mean", "variance", "cdf", "independent_seeds", "same_seed")
DEFAULT_STATISTICS = ("support", "moments", "cdf")


def normal_convention(backend: Backend) -> str:
    """What the backend's *_normal initializers draw (its declared ``initializers`` convention ``normal``)."""
    return str(backend.capabilities().conventions.get("initializers", {}).get("normal", "truncated_normal"))


def layer_convention(backend: Backend) -> str:
    """Which framework's fresh dense layer the backend builds (its ``dense_default_init`` convention ``layer``)."""
    return str(backend.capabilities().conventions.get("dense_default_init", {}).get("layer", "keras_dense"))


def _support(d: init.Law, w: np.ndarray, fmt: dtypes.Format) -> Comparison:
    lower, upper, allowance = room.support_interval(d, fmt)
    finite = np.isfinite(w)
    inside = np.where(finite, np.clip(np.where(finite, w, 0.0), lower, upper), 0.0)
    return compare(w, inside, np.full(w.shape, allowance))


def _mean(d: init.Law, w: np.ndarray, fmt: dtypes.Format) -> Comparison:
    return compare(np.mean(w), np.asarray(init.mean(d)), np.asarray(room.mean_budget(d, w, fmt)))


def _variance(d: init.Law, w: np.ndarray, fmt: dtypes.Format) -> Comparison:
    second = np.mean((w - init.mean(d)) ** 2)
    return compare(second, np.asarray(init.variance(d)), np.asarray(room.variance_budget(d, w, fmt)))


def _cdf(d: init.Law, w: np.ndarray, fmt: dtypes.Format) -> Comparison:
    points = room.cdf_points(d)
    empirical = np.searchsorted(np.sort(w.ravel()), points, side="right") / w.size
    expected = np.array([init.cdf(d, float(t)) for t in points])
    return compare(empirical, expected, room.cdf_budget(d, w.size, points, fmt))


_JUDGES = {"support": _support, "mean": _mean, "variance": _variance, "cdf": _cdf}


def statistic(backend: Backend, name: str, initializer: str, hyper: Mapping[str, object], shape: tuple[int, int],
              seed: int, fmt: dtypes.Format) -> dict[str, Comparison]:
    """One property of ``backend.initialize(initializer, shape, hyper, seed, fmt.name)``: "support" (every weight
    within the law's support, exactly up to the bound's rounding), "mean", "variance", "cdf" (statistical),
    "independent_seeds" (seeds s and s + 1 give independent draws) or "same_seed" (the same draw, exactly)."""
    d, shape = init.law(initializer, shape, hyper, normal=normal_convention(backend)), tuple(shape)
    w = np.asarray(backend.initialize(initializer, shape, dict(hyper), seed, fmt.name), dtype=np.float64)
    if w.shape != shape:
        return {"weight shape (in, out)": compare(w, np.zeros(shape), exact(shape))}
    if name in _JUDGES:
        return {f"{name} of the weights": _JUDGES[name](d, w, fmt)}
    other = np.asarray(backend.initialize(initializer, shape, dict(hyper), seed + (name != "same_seed"), fmt.name),
                       dtype=np.float64)
    if name == "same_seed":
        return {"second draw with the same seed": compare(other, w, exact(np.shape(w)))}
    if name == "independent_seeds":
        m = room.median(d)
        both = float(np.mean((w <= m) & (other.reshape(shape) <= m))) if other.shape == shape else np.inf
        return {"share of positions below the median in both draws (seeds s, s + 1)": compare(
            np.asarray(both), np.asarray(0.25), np.asarray(room.independence_budget(d, w.size, fmt)))}
    raise ValueError(f"initializer_checks.statistic: name must be one of {', '.join(STATISTICS)}, got {name!r}")


def default_statistic(backend: Backend, name: str, fan_in: int, fan_out: int, seed: int,
                      fmt: dtypes.Format) -> dict[str, Comparison]:
    """One property of the weight and bias of a freshly built dense layer (``backend.dense_default_init``):
    "support" (both, exactly), "moments" (mean and variance of each; a constant bias is exact under "support")
    or "cdf"."""
    laws = init.dense_default(fan_in, fan_out, layer=layer_convention(backend))
    weight, bias = backend.dense_default_init(fan_in, fan_out, seed, fmt.name)
    comparisons = {}
    for part, d, values, shape in (("weight", laws[0], weight, (fan_in, fan_out)), ("bias", laws[1], bias, (fan_out,))):
        values = np.asarray(values, dtype=np.float64)
        if values.shape != shape:
            comparisons[f"{part} shape"] = compare(values, np.zeros(shape), exact(shape))
        elif name == "support":
            comparisons[f"support of the {part}"] = _support(d, values, fmt)
        elif name == "moments" and d.kind != "constant":
            comparisons[f"mean of the {part}"] = _mean(d, values, fmt)
            comparisons[f"variance of the {part}"] = _variance(d, values, fmt)
        elif name == "cdf" and d.kind != "constant":
            comparisons[f"cdf of the {part}"] = _cdf(d, values, fmt)
    if name not in DEFAULT_STATISTICS:
        raise ValueError(f"initializer_checks.default_statistic: name must be one of "
                         f"{', '.join(DEFAULT_STATISTICS)}, got {name!r}")
    return comparisons


def run_case(backend: Backend, case: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded initializer case (kind ``initializer_<statistic>`` or ``initializer_default_<statistic>``)."""
    kind, params = str(case["kind"]), case["params"]
    if kind.startswith("initializer_default_"):
        return default_statistic(backend, kind.removeprefix("initializer_default_"), params["fan_in"],
                                 params["fan_out"], params["seed"], fmt)
    if kind.startswith("initializer_"):
        return statistic(backend, kind.removeprefix("initializer_"), params["initializer"], params["hyper"],
                         tuple(params["shape"]), params["seed"], fmt)
    raise ValueError(f"initializer_checks.run_case: unknown case kind {kind!r}")
