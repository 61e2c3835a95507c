"""Weight initializers of a dense layer: the exact law of every weight (support, mean, variance, CDF) and a
sampler that draws it from a ``numpy.random.Generator``.

Shapes are nnspec's (in, out) layout, so ``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch's weight is
(out, in): its fan_in is ``shape[1]`` of its own tensor, the same number). Every weight is drawn independently
from one law; the conformance suite judges a framework's draws against ``law``, never bit for bit.

Spec: docs/spec/initializers.md
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import erfc, exp, inf, isinf, pi, sqrt

import numpy as np

from nnspec.reference import _validation as check

__all__ = ["INITIALIZERS", "FAN_MODES", "DISTRIBUTIONS", "NORMALS", "LAYER_DEFAULTS", "TRUNCATION_STDDEV", "Law",
           "law", "mean", "variance", "cdf", "sample", "dense_default", "sample_dense_default"]

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "truncated_normal", "variance_scaling")
FAN_MODES = ("fan_in", "fan_out", "fan_avg")
#: Keras's names; JAX calls "untruncated_normal" "normal".
DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")
#: The convention ``normal``: what the *_normal initializers draw (Keras and JAX truncate; PyTorch does not).
NORMALS = ("truncated_normal", "untruncated_normal")
#: The convention ``layer`` of ``dense_default``: a fresh keras.layers.Dense or torch.nn.Linear.
LAYER_DEFAULTS = ("keras_dense", "torch_linear")
#: Standard deviation of N(0, 1) truncated to [-2, 2], to 17 digits as Keras and JAX write it: a truncated
#: variance-scaling draw divides its sigma by it so that the variance is (almost exactly) scale / fan.
TRUNCATION_STDDEV = 0.87962566103423978

#: initializer -> (scale, fan mode or None for the "mode" hyperparameter, distribution or "normal")
_NAMED = {"glorot_uniform": (1.0, "fan_avg", "uniform"), "glorot_normal": (1.0, "fan_avg", "normal"),
          "he_uniform": (2.0, None, "uniform"), "he_normal": (2.0, None, "normal"),
          "lecun_uniform": (1.0, "fan_in", "uniform"), "lecun_normal": (1.0, "fan_in", "normal")}
_HYPER = {"truncated_normal": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
          "variance_scaling": {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
          "he_uniform": {"mode": "fan_in"}, "he_normal": {"mode": "fan_in"}}


@dataclass(frozen=True)
class Law:
    """The law of one weight: ``"uniform"`` on [lower, upper]; ``"normal"``: N(loc, scale**2) restricted to
    [lower, upper] (+-inf: not truncated); ``"constant"``: exactly loc (lower = upper = loc)."""

    kind: str
    lower: float
    upper: float
    loc: float = 0.0
    scale: float = 0.0


def _hyper(function: str, initializer: str, hyper) -> dict:
    given = check.mapping(function, "hyper", hyper)
    allowed = _HYPER.get(initializer, {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{function}: hyper of {initializer} takes {', '.join(allowed) or 'nothing'}, "
                         f"got {', '.join(unknown)}")
    return {**allowed, **given}


def _variance_scaling(scale: float, fan: float, distribution: str) -> Law:
    variance = scale / max(1.0, fan)
    if distribution == "uniform":
        limit = sqrt(3.0 * variance)
        return Law("uniform", -limit, limit)
    if distribution == "untruncated_normal":
        return Law("normal", -inf, inf, 0.0, sqrt(variance))
    sigma = sqrt(variance) / TRUNCATION_STDDEV
    return Law("normal", -2.0 * sigma, 2.0 * sigma, 0.0, sigma)


def law(initializer: str, shape: tuple[int, int], hyper: Mapping[str, object] | None = None, *,
        normal: str = "truncated_normal") -> Law:
    """The law every weight of an (in, out) matrix is drawn from.

    Spec: docs/spec/initializers.md#laws

    Math:
        fan = fan_in = shape[0] | fan_out = shape[1] | fan_avg = (fan_in + fan_out) / 2;  v = scale / max(1, fan)
        uniform:             U[-sqrt(3 v), sqrt(3 v)]
        untruncated_normal:  N(0, v)
        truncated_normal:    N(0, s**2) on [-2 s, 2 s],  s = sqrt(v) / TRUNCATION_STDDEV
        glorot_*: scale 1, fan_avg;  he_*: scale 2, hyper mode;  lecun_*: scale 1, fan_in;
        *_normal draw the ``normal`` convention's distribution
        truncated_normal(mean, std, a, b):  N(mean, std**2) on [a, b] (absolute bounds, no rescaling)

    Raises:
        ValueError: an unknown initializer, hyperparameter, mode or distribution, std <= 0, a >= b, or a mean
            outside [a, b]. TypeError: a shape that is not two ints >= 1.

    Example:
        >>> law("glorot_uniform", (2, 4))
        Law(kind='uniform', lower=-1.0, upper=1.0, loc=0.0, scale=0.0)
    """
    function = "initializers.law"
    check.choice(function, "initializer", initializer, INITIALIZERS)
    check.choice(function, "normal", normal, NORMALS)
    fan_in, fan_out = _shape(function, shape)
    hyper = _hyper(function, initializer, hyper)
    if initializer == "truncated_normal":
        mean, std = (check.real_number(function, k, hyper[k]) for k in ("mean", "std"))
        a, b = (check.real_number(function, k, hyper[k]) for k in ("a", "b"))
        if std <= 0.0 or not a <= mean <= b or a >= b:
            raise ValueError(f"{function}: truncated_normal needs std > 0 and a <= mean <= b with a < b, got "
                             f"mean={mean}, std={std}, a={a}, b={b}")
        return Law("normal", a, b, mean, std)
    if initializer == "variance_scaling":
        scale = check.real_number(function, "scale", hyper["scale"], low=0.0, low_open=True)
        distribution = check.choice(function, "distribution", hyper["distribution"], DISTRIBUTIONS)
        mode = check.choice(function, "mode", hyper["mode"], FAN_MODES)
    else:
        scale, mode, distribution = _NAMED[initializer]
        mode = check.choice(function, "mode", hyper["mode"], FAN_MODES) if mode is None else mode
        distribution = normal if distribution == "normal" else distribution
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    return _variance_scaling(scale, fan, distribution)


def _shape(function: str, shape) -> tuple[int, int]:
    sides = check.shape(function, "shape", shape)
    if len(sides) != 2 or min(sides) < 1:
        raise TypeError(f"{function}: shape must be (fan_in, fan_out), two ints >= 1, got {shape!r}")
    return sides


def _phi(z: float) -> float:
    return 0.0 if isinf(z) else exp(-0.5 * z * z) / sqrt(2.0 * pi)


def _big_phi(z: float) -> float:
    return 0.5 * erfc(-z / sqrt(2.0))


def _law(function: str, d: object) -> Law:
    """``d`` after checking that it is a Law (what ``law`` returns)."""
    if not isinstance(d, Law):
        raise TypeError(f"{function}: d must be an initializers.Law (from initializers.law), got {type(d).__name__}")
    return d


def _normal_parts(d: Law) -> tuple[float, float, float]:
    alpha, beta = (d.lower - d.loc) / d.scale, (d.upper - d.loc) / d.scale
    return alpha, beta, _big_phi(beta) - _big_phi(alpha)


def mean(d: Law) -> float:
    """The mean of a weight drawn from ``d``.

    Spec: docs/spec/initializers.md#laws

    Math:
        uniform: (lower + upper) / 2;  constant: loc
        normal on [lower, upper]: loc + scale (phi(alpha) - phi(beta)) / Z,
            alpha = (lower - loc) / scale, beta = (upper - loc) / scale, Z = Phi(beta) - Phi(alpha)

    Example:
        >>> mean(Law("uniform", -1.0, 3.0))
        1.0
    """
    d = _law("initializers.mean", d)
    if d.kind != "normal":
        return d.loc if d.kind == "constant" else (d.lower + d.upper) / 2.0
    alpha, beta, z = _normal_parts(d)
    return d.loc + d.scale * (_phi(alpha) - _phi(beta)) / z


def variance(d: Law) -> float:
    """The variance of a weight drawn from ``d``.

    Spec: docs/spec/initializers.md#laws

    Math:
        uniform: (upper - lower)**2 / 12;  constant: 0
        normal: scale**2 (1 + (alpha phi(alpha) - beta phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z)**2)
            (alpha phi(alpha) = 0 at alpha = -inf)

    Example:
        >>> variance(Law("uniform", -3.0, 3.0))
        3.0
    """
    d = _law("initializers.variance", d)
    if d.kind != "normal":
        return 0.0 if d.kind == "constant" else (d.upper - d.lower) ** 2 / 12.0
    alpha, beta, z = _normal_parts(d)
    tails = (0.0 if isinf(alpha) else alpha * _phi(alpha)) - (0.0 if isinf(beta) else beta * _phi(beta))
    shift = (_phi(alpha) - _phi(beta)) / z
    return d.scale ** 2 * (1.0 + tails / z - shift * shift)


def cdf(d: Law, t: float) -> float:
    """P(weight <= t) for a weight drawn from ``d``.

    Spec: docs/spec/initializers.md#laws

    Math:
        t < lower: 0;  t >= upper: 1
        uniform: (t - lower) / (upper - lower);  normal: (Phi((t - loc) / scale) - Phi(alpha)) / Z

    Example:
        >>> cdf(Law("uniform", -1.0, 1.0), 0.5)
        0.75
    """
    d = _law("initializers.cdf", d)
    if not (isinstance(t, (float, np.floating)) and isinf(t)):
        t = check.real_number("initializers.cdf", "t", t)
    if t < d.lower:
        return 0.0
    if t >= d.upper:
        return 1.0
    if d.kind == "uniform":
        return (t - d.lower) / (d.upper - d.lower)
    alpha, _, z = _normal_parts(d)
    return min(1.0, max(0.0, (_big_phi((t - d.loc) / d.scale) - _big_phi(alpha)) / z))


def _draw(d: Law, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` independent draws from ``d`` in float64: a normal on [lower, upper] by rejection (a normal
    proposal where the interval holds most of the mass, else a uniform proposal on [lower, upper])."""
    if d.kind == "constant":
        return np.full(size, d.loc)
    if d.kind == "uniform":
        return rng.uniform(d.lower, d.upper, size)
    values, pending = np.empty(size), np.ones(size, dtype=bool)
    use_normal = isinf(d.lower) or isinf(d.upper) or _normal_parts(d)[2] > 0.3
    peak = min(max(d.loc, d.lower), d.upper)
    while pending.any():
        count = int(pending.sum())
        if use_normal:
            candidates = rng.normal(d.loc, d.scale, count)
            accept = (candidates >= d.lower) & (candidates <= d.upper)
        else:
            candidates = rng.uniform(d.lower, d.upper, count)
            log_ratio = (-0.5 * ((candidates - d.loc) / d.scale) ** 2 + 0.5 * ((peak - d.loc) / d.scale) ** 2)
            accept = np.log(rng.random(count)) < log_ratio
        index = np.flatnonzero(pending)[accept]
        values[index] = candidates[accept]
        pending[index] = False
    return values


def sample(initializer: str, shape: tuple[int, int], hyper: Mapping[str, object] | None,
           rng: np.random.Generator, dtype: type | np.dtype = np.float64, *, normal: str = "truncated_normal"
           ) -> np.ndarray:
    """Draw an (in, out) weight matrix: every element independently from ``law(initializer, shape, hyper)``,
    then rounded to ``dtype``.

    Spec: docs/spec/initializers.md#laws

    Raises:
        as ``law``; TypeError: if rng is not a numpy Generator or dtype is not a real floating-point dtype.

    Example:
        >>> w = sample("he_uniform", (6, 3), {"mode": "fan_in"}, np.random.default_rng(0))
        >>> w.shape, bool(np.all(np.abs(w) <= 1.0))
        ((6, 3), True)
    """
    d = law(initializer, shape, hyper, normal=normal)
    return _sample_law(d, tuple(shape), rng, check.float_dtype("initializers.sample", "dtype", dtype))


def _sample_law(d: Law, shape: tuple[int, ...], rng, dtype: np.dtype) -> np.ndarray:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"initializers.sample: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return _draw(d, int(np.prod(shape)), rng).reshape(shape).astype(dtype)


def dense_default(fan_in: int, fan_out: int, *, layer: str = "keras_dense") -> tuple[Law, Law]:
    """The laws of the weight and of the bias of a freshly built dense layer of (fan_in, fan_out).

    Spec: docs/spec/initializers.md#dense-default

    Math:
        keras_dense:   weight glorot_uniform: U[-sqrt(6 / (fan_in + fan_out)), +...];  bias 0
        torch_linear:  weight kaiming_uniform(a = sqrt(5)): gain**2 = 2 / (1 + 5), bound = sqrt(3) gain / sqrt(fan_in)
                       = 1 / sqrt(fan_in);  bias U[-1 / sqrt(fan_in), 1 / sqrt(fan_in)]

    Example:
        >>> dense_default(4, 1, layer="torch_linear")[1]
        Law(kind='uniform', lower=-0.5, upper=0.5, loc=0.0, scale=0.0)
    """
    function = "initializers.dense_default"
    check.choice(function, "layer", layer, LAYER_DEFAULTS)
    fan_in, fan_out = _shape(function, (fan_in, fan_out))
    if layer == "keras_dense":
        return law("glorot_uniform", (fan_in, fan_out)), Law("constant", 0.0, 0.0)
    bound = 1.0 / sqrt(fan_in)
    return _variance_scaling(1.0 / 3.0, fan_in, "uniform"), Law("uniform", -bound, bound)


def sample_dense_default(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: type | np.dtype = np.float64,
                         *, layer: str = "keras_dense") -> tuple[np.ndarray, np.ndarray]:
    """Draw the (in, out) weight and the (out,) bias of a fresh dense layer from ``dense_default``.

    Spec: docs/spec/initializers.md#dense-default

    Example:
        >>> w, b = sample_dense_default(3, 2, np.random.default_rng(0))
        >>> w.shape, b.tolist()
        ((3, 2), [0.0, 0.0])
    """
    weight, bias = dense_default(fan_in, fan_out, layer=layer)
    dtype = check.float_dtype("initializers.sample_dense_default", "dtype", dtype)
    return _sample_law(weight, (fan_in, fan_out), rng, dtype), _sample_law(bias, (fan_out,), rng, dtype)
