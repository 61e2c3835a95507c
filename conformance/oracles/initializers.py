"""Independent derivation of the initializers' laws (docs/spec/initializers.md), in mpmath at 40 digits: each
law is written from the frameworks' own definitions (Glorot & Bengio 2010, He et al. 2015, LeCun et al. 1998;
Keras's VarianceScaling and torch.nn.init read in the installed sources), and its mean, variance and CDF are
integrals of its density (``mpmath.quad``), not the closed forms the reference uses. Never imports the reference.

Spec: docs/spec/initializers.md#laws
"""

from __future__ import annotations

import mpmath

__all__ = ["truncation_stddev", "law", "moments", "cdf"]

mpmath.mp.dps = max(mpmath.mp.dps, 40)


def _density(kind: str, lower, upper, loc, scale):
    if kind == "uniform":
        return lambda x: mpmath.mpf(1)
    return lambda x: mpmath.exp(-((x - loc) / scale) ** 2 / 2)


def truncation_stddev() -> mpmath.mpf:
    """The standard deviation of N(0, 1) restricted to [-2, 2], from its density."""
    kind, lower, upper = "normal", mpmath.mpf(-2), mpmath.mpf(2)
    f = _density(kind, lower, upper, 0, 1)
    return mpmath.sqrt(mpmath.quad(lambda x: x * x * f(x), [lower, 0, upper]) / mpmath.quad(f, [lower, 0, upper]))


def law(initializer: str, fan_in: int, fan_out: int, hyper: dict, normal: str) -> tuple:
    """(kind, lower, upper, loc, scale) of one weight of an (fan_in, fan_out) matrix, in mpmath numbers.

    scale and mode per initializer (Keras initializers/random_initializers.py; torch.nn.init):
    glorot: 1, fan_avg; he: 2, hyper mode; lecun: 1, fan_in; variance_scaling: hyper. v = scale / fan;
    uniform: limit sqrt(3 v); untruncated normal: sigma sqrt(v); truncated: sigma sqrt(v) / 0.8796..., +-2 sigma.
    """
    if initializer == "truncated_normal":
        return ("normal", mpmath.mpf(hyper["a"]), mpmath.mpf(hyper["b"]), mpmath.mpf(hyper["mean"]),
                mpmath.mpf(hyper["std"]))
    family, _, variant = initializer.partition("_")
    scale, mode, distribution = {
        "glorot": (1, "fan_avg", variant), "he": (2, hyper.get("mode", "fan_in"), variant),
        "lecun": (1, "fan_in", variant),
        "variance": (hyper.get("scale"), hyper.get("mode"), hyper.get("distribution"))}[family]
    distribution = normal if distribution == "normal" else distribution
    fan = {"fan_in": mpmath.mpf(fan_in), "fan_out": mpmath.mpf(fan_out),
           "fan_avg": (mpmath.mpf(fan_in) + fan_out) / 2}[mode]
    v = mpmath.mpf(scale) / max(fan, 1)
    if distribution == "uniform":
        return ("uniform", -mpmath.sqrt(3 * v), mpmath.sqrt(3 * v), 0, 0)
    if distribution == "untruncated_normal":
        return ("normal", -mpmath.inf, mpmath.inf, 0, mpmath.sqrt(v))
    sigma = mpmath.sqrt(v) / mpmath.mpf("0.87962566103423978")
    return ("normal", -2 * sigma, 2 * sigma, 0, sigma)


def _pieces(lower, upper, loc):
    return [lower, loc, upper] if lower < loc < upper else [lower, upper]


def moments(spec: tuple) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(mean, variance) of the law ``spec`` (from ``law``), as integrals of its density."""
    kind, lower, upper, loc, scale = spec
    f, pieces = _density(kind, lower, upper, loc, scale), _pieces(lower, upper, loc)
    mass = mpmath.quad(f, pieces)
    mean = mpmath.quad(lambda x: x * f(x), pieces) / mass
    return mean, mpmath.quad(lambda x: (x - mean) ** 2 * f(x), pieces) / mass


def cdf(spec: tuple, t) -> mpmath.mpf:
    """P(weight <= t) under the law ``spec``, as the integral of its density up to t over its total mass."""
    kind, lower, upper, loc, scale = spec
    t = mpmath.mpf(t)
    if t <= lower:
        return mpmath.mpf(0)
    if t >= upper:
        return mpmath.mpf(1)
    f = _density(kind, lower, upper, loc, scale)
    return mpmath.quad(f, _pieces(lower, t, loc)) / mpmath.quad(f, _pieces(lower, upper, loc))
