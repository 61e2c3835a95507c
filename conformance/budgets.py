"""Error budgets: how far a backend's result may lie from the float64 reference, derived per input.

This is the one module that decides tolerances. No other file of nnspec holds a tolerance.

Method (docs/spec/error-budgets.md). Inputs are first rounded to the dtype under test, so the backend and the
reference see the same numbers; what remains is the backend's own rounding. For each primitive we bound it by
a running error analysis of the spec's formula: every correctly rounded operation (+, -, *, /, sqrt) adds at
most ``u`` times the magnitude of its result, every elementary function (exp, log, log1p, tanh, erf) at most
``LIBM_ULPS * u`` of its result, and an error already present in an argument is carried through by the
function's derivative (its conditioning). The budget is the sum of these terms at the actual input:

    budget = bound(u_dtype) + bound(u_float64) + UNDERFLOW_FLOOR * tiny_dtype

The second term is the float64 reference's own error; the third term is the absolute floor below which a
format has no relative accuracy (subnormals, which GPUs may also flush to zero). Reductions use the classical
worst-case bound gamma_n = n*u / (1 - n*u) on sums of n terms (Higham, Accuracy and Stability of Numerical
Algorithms, 2nd ed., section 3.1): it never raises a false alarm, and for the accumulation lengths the suite
draws (n <= 64) it is still tighter than the error of a TF32 matrix product (docs/spec/error-budgets.md#tf32).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nnspec.conformance import dtypes
from nnspec.reference.activations import log_softmax, sigmoid, softmax

__all__ = ["Comparison", "compare", "forward", "backward", "gamma", "LIBM_ULPS", "UNDERFLOW_FLOOR"]

#: An elementary function (exp, log, log1p, tanh, erf) of a mainstream math library is accurate to a few ulps:
#: SLEEF's u35 variants (used by PyTorch's vectorised CPU kernels) guarantee 3.5 ulp, CUDA's libdevice 1-4 ulp
#: for these functions, glibc 1-2 ulp. Four units of roundoff cover each call.
LIBM_ULPS = 4.0

#: Results below the smallest normal number carry no relative accuracy, and flush-to-zero hardware may
#: replace them by 0; a budget never demands more than two smallest normals of absolute accuracy.
UNDERFLOW_FLOOR = 2.0


def gamma(n: int | np.ndarray, u: float) -> np.ndarray:
    """Worst-case relative error factor of a length-n sum or dot product: n*u / (1 - n*u) (Higham 3.1).

    Example:
        >>> float(gamma(1, 2.0 ** -24)) > 2.0 ** -24
        True
    """
    nu = np.asarray(n, dtype=np.float64) * u
    with np.errstate(divide="ignore"):
        return np.where(nu < 1.0, nu / (1.0 - nu), np.inf)


def _nan_safe_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b with 0 * inf taken as 0: a term that is absent contributes no error."""
    with np.errstate(invalid="ignore"):
        return np.where((a == 0) | (b == 0), 0.0, a * b)


#: A pseudo-format with u = 1 and no underflow: a bound evaluated in it is expressed in units of u.
_IN_UNITS_OF_U = dtypes.Format("units of u", precision=0, max_exponent=1024, min_exponent=-100000)


# --- activations: forward ------------------------------------------------------------------------------------
# Each function returns the absolute error bound at float64 inputs for a format fmt (unit roundoff u).


def _identity_fwd(a, p, fmt):
    return np.zeros_like(a["x"])  # y = x is exact


def _relu_fwd(a, p, fmt):
    return np.zeros_like(a["x"])  # max(x, 0) is exact


def _leaky_relu_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    x, slope = a["x"], p.get("negative_slope", 0.01)
    return np.where(x > 0, 0.0, 2 * u * np.abs(slope * x))  # slope rounded to the dtype, then one product


def _sigmoid_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    y = sigmoid.forward(a["x"])
    return (LIBM_ULPS + 2) * u * y  # exp, one add, one divide: every term positive, no cancellation


def _tanh_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    return LIBM_ULPS * u * np.abs(np.tanh(a["x"]))


def _softplus_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    x = a["x"]
    y = np.logaddexp(x, 0.0)
    threshold = p.get("threshold")
    linear = np.zeros_like(x, dtype=bool) if threshold is None else x > threshold
    return np.where(linear, 0.0, (2 * LIBM_ULPS + 1) * u * y)  # exp then log1p, each relative to y


def _erf(z: np.ndarray) -> np.ndarray:
    from math import erf

    return np.vectorize(erf, otypes=[np.float64])(z)


def _gelu_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    x = a["x"]
    if p.get("approximate", "none") == "tanh":
        k = np.sqrt(2.0 / np.pi)
        inner = k * (x + 0.044715 * x**3)
        t = np.tanh(inner)
        # 0.5*x*(1 + t): t's own error, and the error of inner (3 products, 1 add) carried by tanh' = 1 - t^2
        return u * (0.5 * np.abs(x) * ((LIBM_ULPS + 3) * (1 + np.abs(t)) + 5 * (1 - t * t) * np.abs(inner)))
    e = _erf(x / np.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    # 0.5*x*(1 + erf(x/sqrt2)): erf's error times 0.5|x|, the cancellation 1 + erf when erf ~ -1, and the
    # rounding of x/sqrt2 carried by erf' = sqrt(2/pi) * exp(-x^2/2)
    return u * (0.5 * np.abs(x) * (LIBM_ULPS + 3) * (1 + np.abs(e)) + 2 * x * x * pdf)


def _softmax_relative(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax y and F, the relative error factor of y in units of u (docs/spec/error-budgets.md#softmax).

    d = x - max is rounded (relative error of exp(d): |d| u), exp adds LIBM_ULPS u, the sum of C terms
    gamma_C, its terms' own errors sum(y_j |d_j|) + LIBM_ULPS, the division one more u.
    """
    y = softmax.forward(x, axis=axis)
    d = np.abs(x - np.max(x, axis=axis, keepdims=True))
    d = np.where(np.isfinite(d), d, 0.0)
    classes = x.shape[axis]
    spread = np.sum(_nan_safe_product(y, d), axis=axis, keepdims=True)
    return y, d + spread + classes + 2 * LIBM_ULPS + 1


def _softmax_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    y, factor = _softmax_relative(a["x"], p.get("axis", -1))
    return u * y * factor


def _log_softmax_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    x, axis = a["x"], p.get("axis", -1)
    y, factor = _softmax_relative(x, axis)
    d = np.abs(x - np.max(x, axis=axis, keepdims=True))
    d = np.where(np.isfinite(d), d, 0.0)
    lse = np.log(np.sum(np.exp(-d), axis=axis, keepdims=True))  # log sum exp(x - max), in [0, log C]
    out = np.abs(log_softmax.forward(x, axis=axis))
    out = np.where(np.isfinite(out), out, 0.0)
    # y_i = d_i - lse: rounding of d_i, the relative error of the sum (an absolute error of its log),
    # log's own error, the final subtraction.
    spread = factor - d - 1  # sum-related part of the softmax factor: spread + C + 2 LIBM_ULPS
    return u * (d + spread + LIBM_ULPS * lse + out)


# --- activations: backward -----------------------------------------------------------------------------------


def _identity_bwd(a, g, p, fmt):
    return {"x": np.zeros_like(g)}  # the gradient is passed through exactly


def _relu_bwd(a, g, p, fmt):
    return {"x": np.zeros_like(g)}  # g or 0, exactly


def _leaky_relu_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    slope = p.get("negative_slope", 0.01)
    return {"x": np.where(a["x"] > 0, 0.0, 2 * u * np.abs(slope * g))}


def _sigmoid_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    y = sigmoid.forward(a["x"])
    # g*y*(1-y) from the rounded y: y's own error (LIBM_ULPS + 2) u y enters both factors; 1 - y adds u,
    # the two products 2u. Since (1 - y) + y = 1, the terms sum to a multiple of u*|g|*y.
    return {"x": (LIBM_ULPS + 6) * u * np.abs(g) * y}


def _tanh_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    # g*(1 - t^2): t's error LIBM_ULPS u |t| doubled by the square, carried by 2|t|; 1 - t^2 and the products
    # add 3u. Since t^2 <= 1 everything is a multiple of u*|g|.
    return {"x": (2 * LIBM_ULPS + 4) * u * np.abs(g)}


def _softplus_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    x = a["x"]
    s = sigmoid.forward(x)
    threshold = p.get("threshold")
    linear = np.zeros_like(x, dtype=bool) if threshold is None else x > threshold
    return {"x": np.where(linear, 0.0, (LIBM_ULPS + 4) * u * np.abs(g) * s)}  # g * sigmoid(x)


def _gelu_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    x = a["x"]
    if p.get("approximate", "none") == "tanh":
        k, c = np.sqrt(2.0 / np.pi), 0.044715
        inner = k * (x + c * x**3)
        t = np.tanh(inner)
        slope = k * (1 + 3 * c * x * x)
        # 0.5(1+t) + 0.5 x (1-t^2) slope: each term's rounding, and t's error carried into both terms. t's
        # error is tanh's own (LIBM_ULPS u |t|, absolute: it does not shrink with 1 - t^2 when tanh saturates)
        # plus inner's rounding through tanh' = 1 - t^2; 1 - t^2 turns an error e of t into 2|t| e.
        t_error = LIBM_ULPS * np.abs(t) + 5 * (1 - t * t) * np.abs(inner)
        terms = ((LIBM_ULPS + 8) * (0.5 * (1 + np.abs(t)) + 0.5 * np.abs(x) * (1 - t * t) * slope)
                 + 0.5 * t_error * (1 + 2 * np.abs(x) * slope * np.abs(t)))
        return {"x": u * np.abs(g) * terms}
    e = _erf(x / np.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    # Phi(x) + x*phi(x): erf's error (with the cancellation 1 + erf), exp's error and the rounding of x^2/2
    terms = 0.5 * (1 + np.abs(e)) + np.abs(x) * pdf * (1 + x * x)
    return {"x": (LIBM_ULPS + 6) * u * np.abs(g) * terms}


def _softmax_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    axis = p.get("axis", -1)
    y, factor = _softmax_relative(a["x"], axis)
    classes = a["x"].shape[axis]
    s = np.sum(g * y, axis=axis, keepdims=True)
    weighted = np.sum(np.abs(g) * y * (factor + classes), axis=axis, keepdims=True)
    # grad_i = y_i (g_i - s), s = sum_j g_j y_j: y_i's error, s's error (each y_j's error plus the sum), and
    # the subtraction and product.
    return {"x": u * y * (factor * np.abs(g - s) + weighted + np.abs(g) + np.abs(s))}


def _log_softmax_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    x, axis = a["x"], p.get("axis", -1)
    y = softmax.forward(x, axis=axis)
    out_error = _log_softmax_fwd(a, p, _IN_UNITS_OF_U)  # forward budget in units of u
    classes = x.shape[axis]
    total = np.sum(g, axis=axis, keepdims=True)
    total_abs = np.sum(np.abs(g), axis=axis, keepdims=True)
    # grad_i = g_i - exp(out_i) * sum(g): exp of the rounded output (relative error out_error + LIBM_ULPS),
    # the sum of C terms, the product and the subtraction.
    return {"x": u * (y * np.abs(total) * (out_error + LIBM_ULPS + 2) + y * classes * total_abs + np.abs(g))}


# --- losses ----------------------------------------------------------------------------------------------------


def _reduce(values: np.ndarray, element_budget: np.ndarray, reduction: str, count: int, u: float) -> np.ndarray:
    """Carry per-element (or per-example) loss budgets through the reduction: the sum of n terms adds
    gamma_{n-1} times the sum of their magnitudes; 'mean' divides the result by ``count`` (one more u)."""
    if reduction == "none":
        return element_budget
    magnitude = np.sum(np.abs(values))
    total = np.sum(element_budget) + gamma(max(count - 1, 0), u) * magnitude
    if reduction == "sum":
        return total
    return total / count + u * magnitude / count


def _count(a: Mapping[str, np.ndarray], name: str) -> int:
    return int(np.asarray(a[name]).size)


def _mse_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    from nnspec.reference.losses import mean_squared_error

    values = mean_squared_error.forward(a["prediction"], a["target"], reduction="none")
    return _reduce(values, 3 * u * values, p.get("reduction", "mean"), _count(a, "prediction"), u)  # (p-t)^2


def _bce_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    from nnspec.reference.losses import binary_cross_entropy

    prob, y = a["probability"], a["target"]
    values = binary_cross_entropy.forward(prob, y, reduction="none", log_floor=p.get("log_floor"))
    with np.errstate(divide="ignore"):
        log_p, log_q = np.abs(np.log(prob)), np.abs(np.log1p(-prob))
    # each log: its own error and the absolute error its rounded argument (1 - p) brings; two products, a sum
    element = u * (_nan_safe_product(y, (LIBM_ULPS + 2) * log_p + 1)
                   + _nan_safe_product(1 - y, (LIBM_ULPS + 2) * log_q + 2))
    element = element + u * np.where(np.isfinite(values), np.abs(values), 0.0)
    return _reduce(values, element, p.get("reduction", "mean"), _count(a, "probability"), u)


def _bce_logits_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    from nnspec.reference.losses import binary_cross_entropy_with_logits as bce

    x, y = a["logits"], a["target"]
    values = bce.forward(x, y, reduction="none")
    finite_x = np.where(np.isfinite(x), np.abs(x), 0.0)
    # max(x,0) - x*y + log1p(exp(-|x|)) (or an equivalent rearrangement): the terms |x| and |x*y| cancel
    # for saturated logits, so their rounding is an absolute error; log1p(exp(.)) <= log 2 adds 2 LIBM_ULPS.
    element = u * (3 * finite_x * (1 + np.abs(y)) + (2 * LIBM_ULPS + 2) * np.log(2.0)
                   + np.abs(np.where(np.isfinite(values), values, 0.0)))
    return _reduce(values, element, p.get("reduction", "mean"), _count(a, "logits"), u)


def _smoothed_targets(a: Mapping[str, np.ndarray], p: Mapping[str, object]) -> np.ndarray:
    x, target = a["logits"], np.asarray(a["target"])
    classes = x.shape[-1]
    eps = float(p.get("label_smoothing", 0.0))
    if target.dtype.kind in "iu":
        target = np.eye(classes)[target]
    return (1 - eps) * target + eps / classes


def _cross_entropy_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    from nnspec.reference.losses import softmax_cross_entropy

    x = a["logits"]
    q = _smoothed_targets(a, p)
    values = softmax_cross_entropy.forward(x, a["target"], reduction="none",
                                           label_smoothing=p.get("label_smoothing", 0.0))
    logp = np.abs(log_softmax.forward(x, axis=-1))
    out_error = _log_softmax_fwd({"x": x}, {"axis": -1}, _IN_UNITS_OF_U)
    classes = x.shape[-1]
    # -sum_c q_c logp_c: each logp_c's own error, the smoothed target's rounding (3u), the C products and sum
    element = u * np.sum(_nan_safe_product(q, out_error + (classes + 4) * logp), axis=-1)
    return _reduce(values, element, p.get("reduction", "mean"), x.shape[0], u)


def _grad_scale(g: np.ndarray, reduction: str, count: int) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    return g / count if reduction == "mean" else g


def _mse_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    pred, target = a["prediction"], a["target"]
    scale = _grad_scale(g, p.get("reduction", "mean"), pred.size)
    return {"prediction": 4 * u * np.abs(2 * (pred - target) * scale)}  # subtraction, *2, *g, /n


def _bce_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    prob, y = a["probability"], a["target"]
    scale = _grad_scale(g, p.get("reduction", "mean"), prob.size)
    denominator = prob * (1 - prob)
    floor = p.get("denominator_floor")
    if floor is not None:
        denominator = np.maximum(denominator, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = scale * (prob - y) / denominator
    # The derivative of the spec's formula has two terms, -y/p + (1-y)/(1-p) (what autodiff of the loss
    # computes); they cancel near p = y, so each term's rounding (a division, a product, the sum) is an absolute
    # error of u times its magnitude. A closed form (p - y)/(p(1-p)) is more accurate and also passes.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = _nan_safe_product(y, 1 / prob) + _nan_safe_product(1 - y, 1 / (1 - prob))
    terms = np.abs(scale) * np.where(np.isfinite(terms), terms, 0.0)
    # p - y, 1 - p, the product, the division, *g, /n: six roundings, all relative to the result; and the
    # numerator g (p - y) / n may underflow (an absolute error up to tiny each for *g and /n, also under
    # flush-to-zero) before the division by a denominator as small as the floor magnifies it.
    underflow = 2 * UNDERFLOW_FLOOR * fmt.tiny / denominator
    return {"probability": 6 * u * np.where(np.isfinite(grad), np.abs(grad), 0.0) + 3 * u * terms
            + np.where(np.isfinite(underflow), underflow, 0.0)}


def _bce_logits_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    x, y = a["logits"], a["target"]
    scale = _grad_scale(g, p.get("reduction", "mean"), x.size)
    s = sigmoid.forward(x)
    # (sigmoid(x) - y) * g / n: sigmoid's error, the subtraction, two products
    return {"logits": u * np.abs(scale) * ((LIBM_ULPS + 2) * s + 3 * np.abs(s - y))}


def _cross_entropy_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    x = a["logits"]
    q = _smoothed_targets(a, p)
    reduction = p.get("reduction", "mean")
    scale = _grad_scale(g, reduction, x.shape[0])
    if reduction == "none":
        scale = np.asarray(scale)[:, None]
    upstream = -q * scale  # the gradient reaching log_softmax
    inner = _log_softmax_bwd({"x": x}, upstream, {"axis": -1}, fmt)["x"]
    return {"logits": inner + 4 * u * np.abs(upstream)}  # smoothing and the scaling by g / N


# --- dense -------------------------------------------------------------------------------------------------------


def _dense_fwd(a, p, fmt):
    u = fmt.unit_roundoff
    x, w, b = a["x"], a["weight"], a.get("bias")
    magnitude = np.abs(x) @ np.abs(w) + (0.0 if b is None else np.abs(b))
    # a dot product of length K, plus the bias; each of its K + 1 roundings may also lose up to one smallest
    # normal to underflow (flush-to-zero hardware, e.g. XLA on CPU, flushes subnormal products)
    return gamma(w.shape[0] + 1, u) * magnitude + (w.shape[0] + 1) * fmt.tiny


def _dense_bwd(a, g, p, fmt):
    u = fmt.unit_roundoff
    x, w, b = a["x"], a["weight"], a.get("bias")
    g = np.asarray(g, dtype=np.float64)
    batch = 1 if x.ndim == 1 else x.shape[0]
    grads = {  # the roundings as in the forward, each with its possible underflow of one smallest normal
        "x": gamma(w.shape[1], u) * (np.abs(g) @ np.abs(w).T) + w.shape[1] * fmt.tiny,  # g W^T: J terms
        "weight": gamma(batch, u) * (np.outer(np.abs(x), np.abs(g)) if x.ndim == 1 else np.abs(x).T @ np.abs(g))
        + batch * fmt.tiny,
    }
    if b is not None:
        grads["bias"] = (gamma(batch, u) * (np.abs(g) if g.ndim == 1 else np.sum(np.abs(g), axis=0))
                         + batch * fmt.tiny)
    return grads


# --- dispatch ----------------------------------------------------------------------------------------------------

Forward = Callable[[Mapping[str, np.ndarray], Mapping[str, object], dtypes.Format], np.ndarray]
Backward = Callable[[Mapping[str, np.ndarray], np.ndarray, Mapping[str, object], dtypes.Format], dict]

_FORWARD: dict[str, Forward] = {
    "identity": _identity_fwd,
    "sigmoid": _sigmoid_fwd,
    "tanh": _tanh_fwd,
    "relu": _relu_fwd,
    "leaky_relu": _leaky_relu_fwd,
    "softplus": _softplus_fwd,
    "gelu": _gelu_fwd,
    "gelu_tanh": _gelu_fwd,
    "softmax": _softmax_fwd,
    "log_softmax": _log_softmax_fwd,
    "mean_squared_error": _mse_fwd,
    "binary_cross_entropy": _bce_fwd,
    "binary_cross_entropy_with_logits": _bce_logits_fwd,
    "softmax_cross_entropy": _cross_entropy_fwd,
    "softmax_cross_entropy_probs": _cross_entropy_fwd,
    "dense": _dense_fwd,
}

_BACKWARD: dict[str, Backward] = {
    "identity": _identity_bwd,
    "sigmoid": _sigmoid_bwd,
    "tanh": _tanh_bwd,
    "relu": _relu_bwd,
    "leaky_relu": _leaky_relu_bwd,
    "softplus": _softplus_bwd,
    "gelu": _gelu_bwd,
    "gelu_tanh": _gelu_bwd,
    "softmax": _softmax_bwd,
    "log_softmax": _log_softmax_bwd,
    "mean_squared_error": _mse_bwd,
    "binary_cross_entropy": _bce_bwd,
    "binary_cross_entropy_with_logits": _bce_logits_bwd,
    "softmax_cross_entropy": _cross_entropy_bwd,
    "softmax_cross_entropy_probs": _cross_entropy_bwd,
    "dense": _dense_bwd,
}


def _total(bound: Callable[[dtypes.Format], np.ndarray], dtype: str) -> np.ndarray:
    fmt = dtypes.get(dtype)
    with np.errstate(all="ignore"):  # infinite inputs give NaN bounds, read as "exact" by compare()
        return bound(fmt) + bound(dtypes.get("float64")) + UNDERFLOW_FLOOR * fmt.tiny


def forward(primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object], dtype: str) -> np.ndarray:
    """The budget for each element of ``primitive``'s output at these (float64, dtype-representable) inputs."""
    if primitive not in _FORWARD:
        raise ValueError(f"budgets.forward: no budget is derived for primitive {primitive!r}")
    return _total(lambda fmt: _FORWARD[primitive](arrays, params, fmt), dtype)


def backward(
    primitive: str,
    arrays: Mapping[str, np.ndarray],
    grad_output: np.ndarray,
    params: Mapping[str, object],
    dtype: str,
) -> dict[str, np.ndarray]:
    """The budget for each element of each input gradient of ``primitive`` (a vector-Jacobian product)."""
    if primitive not in _BACKWARD:
        raise ValueError(f"budgets.backward: no budget is derived for primitive {primitive!r}")
    with np.errstate(all="ignore"):
        by_format = {fmt.name: _BACKWARD[primitive](arrays, grad_output, params, fmt)
                     for fmt in (dtypes.get(dtype), dtypes.get("float64"))}
    return {name: _total(lambda fmt, name=name: by_format[fmt.name][name], dtype) for name in by_format[dtype]}


# --- input perturbations (for metamorphic properties) -----------------------------------------------------------


def softmax_rounding_effect(x: np.ndarray, shifted: np.ndarray, axis: int = -1) -> np.ndarray:
    """How softmax moves when the row x + c is rounded to ``shifted``: exactly softmax(shifted) - softmax(x)
    (softmax(shifted) = softmax(x + delta), delta the rounding), in float64, whose own error the two forward
    budgets already hold. A first-order Jacobian bound is not enough: in float16, x + 1e4 moves a logit by up
    to 8 (half an ulp at 2e4), which changes softmax by e^8, not linearly."""
    return softmax.forward(shifted, axis=axis) - softmax.forward(x, axis=axis)


# --- comparison --------------------------------------------------------------------------------------------------


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
        excused = np.broadcast_to(np.asarray(excused, dtype=bool), ratio.shape)
        excused_count = int(np.sum(excused))
        known = excused_by if bool(np.any(excused & (ratio > 1))) else ()
        ratio = np.where(excused, 0.0, ratio)
    if ratio.size == 0 or np.max(ratio) == 0:
        return Comparison(0.0, known=known, size=int(ratio.size), excused=excused_count)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return Comparison(float(ratio[worst]), tuple(int(i) for i in worst), float(observed[worst]),
                      float(expected[worst]), float(budget[worst]), known=known, size=int(ratio.size),
                      excused=excused_count)


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


# --- networks ----------------------------------------------------------------------------------------------------
# First-order propagation of the primitives' bounds through the network, with absolute values: an error E in
# an input of a step reaches its output through |Jacobian| E, to which the step adds its own bound.
# (docs/spec/error-budgets.md#networks)


def _second_derivative(activation: str, z: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    """|f''(z)|: how much an error in z moves f'(z), the factor the backward pass multiplies by."""
    if activation == "identity":
        return np.zeros_like(z)
    if activation == "sigmoid" or activation == "softplus":
        s = sigmoid.forward(z)
        second = s * (1 - s) if activation == "softplus" else s * (1 - s) * (1 - 2 * s)
        threshold = params.get("threshold")
        return np.abs(np.where(z > threshold, 0.0, second) if threshold is not None else second)
    if activation == "tanh":
        t = np.tanh(z)
        return np.abs(2 * t * (1 - t * t))
    if activation == "gelu" and params.get("approximate", "none") == "none":
        pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
        return np.abs(pdf * (2 - z * z))
    if activation == "gelu":
        k, c = np.sqrt(2 / np.pi), 0.044715
        t = np.tanh(k * (z + c * z**3))
        s1, s2 = k * (1 + 3 * c * z * z), 6 * k * c * z
        return np.abs((1 - t * t) * s1 - z * t * (1 - t * t) * s1 * s1 + 0.5 * z * (1 - t * t) * s2)
    raise ValueError(f"budgets.network: activation must be smooth and elementwise "
                     f"(identity, sigmoid, tanh, softplus, gelu), got {activation!r}")


def _loss_hessian_times(loss: str, output: np.ndarray, target: np.ndarray, error: np.ndarray,
                        reduction: str) -> np.ndarray:
    """|d2 loss / d output2| applied to an error vector: how an error in the output moves dloss/doutput."""
    count = output.shape[0] if loss == "softmax_cross_entropy" else output.size
    scale = 1.0 / count if reduction == "mean" else 1.0
    if loss == "mean_squared_error":
        return 2 * scale * error
    if loss == "binary_cross_entropy_with_logits":
        s = sigmoid.forward(output)
        return scale * s * (1 - s) * error
    if loss == "softmax_cross_entropy":
        p = softmax.forward(output, axis=-1)
        return scale * (p * error + p * np.sum(p * error, axis=-1, keepdims=True))
    raise ValueError(f"budgets.network: loss must be mean_squared_error, binary_cross_entropy_with_logits or "
                     f"softmax_cross_entropy, got {loss!r}")


_LOSS_ARRAYS = {"mean_squared_error": "prediction", "binary_cross_entropy_with_logits": "logits",
                "softmax_cross_entropy": "logits"}


def _network_bound(layers, x, target, loss: str, loss_params: Mapping[str, object], fmt: dtypes.Format,
                   masks=None) -> dict:
    """The network's bounds in format ``fmt``. With ``masks`` (fixed dropout masks, one per layer or None), each
    mask multiplied into a layer's activation output adds u |a m| (0 when m is a power of two) and carries the
    error m |error|, forward and backward."""
    from nnspec.reference import catalogue, dense

    u = fmt.unit_roundoff
    a, error_a, tape = x, np.zeros_like(x), []
    for layer, mask in zip(layers, [None] * len(layers) if masks is None else masks):
        module, params = catalogue.get(layer.activation).module, dict(layer.activation_params)
        z = dense.forward(a, layer.weight, layer.bias)
        error_z = error_a @ np.abs(layer.weight) + _FORWARD["dense"]({"x": a, "weight": layer.weight,
                                                                       "bias": layer.bias}, {}, fmt)
        slope = np.abs(module.backward(z, np.ones_like(z), **params))
        tape.append((layer, a, error_a, z, error_z, params, mask))
        a = module.forward(z, **params)
        error_a = slope * error_z + _FORWARD[layer.activation]({"x": z}, params, fmt)
        if mask is not None:
            a, error_a = a * mask, np.abs(mask) * error_a + u * np.abs(a * mask)
    reduction = loss_params.get("reduction", "mean")
    loss_arrays = {_LOSS_ARRAYS[loss]: a, "target": target}
    grad = catalogue.get(loss).module.backward(a, target, grad_output=1.0, **loss_params)
    error_loss = np.sum(np.abs(grad) * error_a) + _FORWARD[loss](loss_arrays, loss_params, fmt)
    error_grad = (_BACKWARD[loss](loss_arrays, np.asarray(1.0), loss_params, fmt)[_LOSS_ARRAYS[loss]]
                  + _loss_hessian_times(loss, a, target, error_a, reduction))
    weights, biases = [], []
    for layer, a_in, error_in, z, error_z, params, mask in reversed(tape):
        if mask is not None:
            grad, error_grad = grad * mask, np.abs(mask) * error_grad + u * np.abs(grad * mask)
        module = catalogue.get(layer.activation).module
        slope = np.abs(module.backward(z, np.ones_like(z), **params))
        grad_z = module.backward(z, grad, **params)
        error_grad_z = (_BACKWARD[layer.activation]({"x": z}, grad, params, fmt)["x"] + slope * error_grad
                        + _second_derivative(layer.activation, z, params) * np.abs(grad) * error_z)
        own = _BACKWARD["dense"]({"x": a_in, "weight": layer.weight, "bias": layer.bias}, grad_z, {}, fmt)
        weights.insert(0, error_in.T @ np.abs(grad_z) + np.abs(a_in).T @ error_grad_z + own["weight"])
        biases.insert(0, np.sum(error_grad_z, axis=0) + own.get("bias", 0.0))
        grad = grad_z @ layer.weight.T
        error_grad = error_grad_z @ np.abs(layer.weight).T + own["x"]
    return {"loss": error_loss, "weights": weights, "biases": biases}


def network(layers, x: np.ndarray, target: np.ndarray, loss: str, loss_params: Mapping[str, object],
            dtype: str) -> dict:
    """Budgets for a sequential network's loss and every parameter gradient (first-order propagation of the
    primitives' bounds; smooth elementwise activations only, so rounding cannot cross a kink).

    ``layers`` are ``nnspec.reference.network.Layer`` in float64 with the backend's conventions applied.
    Returns ``{"loss": float, "weights": [array], "biases": [array]}``.
    """
    low, high = (_network_bound(layers, x, target, loss, loss_params, fmt)
                 for fmt in (dtypes.get(dtype), dtypes.get("float64")))
    floor = UNDERFLOW_FLOOR * dtypes.get(dtype).tiny
    return {
        "loss": float(low["loss"] + high["loss"] + floor),
        "weights": [a + b + floor for a, b in zip(low["weights"], high["weights"])],
        "biases": [a + b + floor for a, b in zip(low["biases"], high["biases"])],
    }


# --- dropout and training ----------------------------------------------------------------------------------------
# Statistical checks (docs/spec/error-budgets.md#statistical-checks) and the training step's bounds
# (docs/spec/training.md#budget). Owned by the dropout / early-stopping / training work.

#: The largest probability that one statistical check fails on a correct backend (one in a million). Over a
#: whole run the false alarms add up at most to (number of statistical checks) x this (docs/spec/error-budgets.md).
FALSE_ALARM_PER_CHECK = 1e-6


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


def dropout_scale(values: np.ndarray, p: float, dtype: str) -> np.ndarray:
    """Budget of a kept element y = x / (1 - p) (or a gradient g / (1 - p)).

    The dtype result may come as x * fl(1 / fl(1 - p)) (PyTorch: a mask divided by 1 - p, then a product):
    1 - p computed in float64 then rounded to the dtype (u64 + u), the reciprocal (u), the product (u): 3u + u64
    relative to |y|; a division x / fl(1 - p) takes fewer. The float64 reference adds 2 u64.
    """
    scale = 1.0 / (1.0 - p)
    magnitude = np.abs(np.where(np.isfinite(values), values, 0.0)) * scale
    u, u64 = dtypes.get(dtype).unit_roundoff, dtypes.get("float64").unit_roundoff
    return (3 * u + 3 * u64) * magnitude + UNDERFLOW_FLOOR * dtypes.get(dtype).tiny


def _binomial_log_pmf(n: int, q: float, ks: np.ndarray) -> np.ndarray:
    from math import lgamma, log, log1p

    log_choose = np.array([lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) for k in ks.tolist()])
    return log_choose + ks * log(q) + (n - ks) * log1p(-q)


def binomial_interval(n: int, q: float, alpha: float = FALSE_ALARM_PER_CHECK) -> tuple[int, int]:
    """The acceptance interval [lo, hi] of a Binomial(n, q) count: P(K < lo) <= alpha/2 and P(K > hi) <= alpha/2.

    Exact tails, summed from the pmf over a window of 12 standard deviations + 60 around n q; by Bernstein's
    inequality the mass outside it is below 1e-30, negligible next to alpha.

    Example:
        >>> binomial_interval(100, 0.5)
        (26, 74)
    """
    if q <= 0.0 or q >= 1.0:
        return (0, 0) if q <= 0.0 else (n, n)
    from math import ceil, floor, sqrt

    width = ceil(12 * sqrt(n * q * (1 - q)) + 60)
    ks = np.arange(max(0, floor(n * q) - width), min(n, ceil(n * q) + width) + 1)
    pmf = np.exp(_binomial_log_pmf(n, q, ks))
    below = np.cumsum(pmf)                   # P(K <= k) within the window
    above = np.cumsum(pmf[::-1])[::-1]       # P(K >= k)
    lo = int(ks[np.argmax(below > alpha / 2)])
    hi = int(ks[len(ks) - 1 - np.argmax(above[::-1] > alpha / 2)])
    return lo, hi


def binomial(count: int, n: int, q: float) -> Comparison:
    """Judge a count of successes in n independent trials of probability q: outside the acceptance interval
    of ``binomial_interval`` the ratio exceeds 1 (the budget is the distance from n q to the interval's end)."""
    lo, hi = binomial_interval(n, q)
    mean = n * q
    budget = max(mean - lo, 0.0) if count < mean else max(hi - mean, 0.0)
    return compare(np.asarray(float(count)), np.asarray(mean), np.asarray(budget))


def binomial_in_family(count: int, n: int, q: float, family: int) -> Comparison:
    """``binomial`` for one of ``family`` counts judged together as ONE check (Bonferroni): each count's interval
    is at level FALSE_ALARM_PER_CHECK / family, so by the union bound the family fails a correct backend with
    probability at most FALSE_ALARM_PER_CHECK, however its counts depend on each other (the pairs of calls of one
    dropout stream share calls)."""
    if isinstance(family, bool) or not isinstance(family, int) or family < 1:
        raise ValueError(f"binomial_in_family: family must be an integer >= 1, got {family!r}")
    lo, hi = binomial_interval(n, q, FALSE_ALARM_PER_CHECK / family)
    mean = n * q
    budget = max(mean - lo, 0.0) if count < mean else max(hi - mean, 0.0)
    return compare(np.asarray(float(count)), np.asarray(mean), np.asarray(budget))


def dropout_mean(x: np.ndarray, p: float, dtype: str) -> float:
    """Budget of |mean(dropout(x)) - mean(x)| over n independent elements (the mean is preserved).

    Hoeffding's inequality: y_i = x_i B_i / (1 - p) with B_i ~ Bernoulli(1 - p) lies in an interval of length
    |x_i| / (1 - p), so P(|sum y - sum x| >= t) <= 2 exp(-2 t^2 / sum (x_i / (1 - p))^2) = FALSE_ALARM_PER_CHECK
    at t = sqrt(log(2 / alpha) / 2 * sum x_i^2) / (1 - p). Plus each element's rounding (``dropout_scale``)
    and the float64 sums of the check itself (gamma_n u64 of sum |y| + sum |x|).
    """
    x = np.asarray(x, dtype=np.float64)
    n, scale = x.size, 1.0 / (1.0 - p)
    deviation = np.sqrt(np.log(2 / FALSE_ALARM_PER_CHECK) / 2 * np.sum(x * x)) * scale
    rounding = np.sum(dropout_scale(x, p, dtype)) + gamma(n, dtypes.get("float64").unit_roundoff) * (
        1 + scale) * np.sum(np.abs(x))
    return float((deviation + rounding) / n)


def distinct_orders_min_examples() -> int:
    """The fewest examples for which two independent uniform shuffles coincide with probability 1/n! at most
    FALSE_ALARM_PER_CHECK (so "different seeds give different orders" is a check with a stated false-alarm rate)."""
    from math import factorial

    n = 1
    while 1.0 / factorial(n) > FALSE_ALARM_PER_CHECK:
        n += 1
    return n


def triangle(*budgets: np.ndarray) -> np.ndarray:
    """Two (or more) results, each within its budget of the same exact value, differ by at most the sum."""
    return sum(np.asarray(b, dtype=np.float64) for b in budgets)


def accumulated_mean(full: np.ndarray, parts: list[np.ndarray], values: list[np.ndarray],
                     sizes: list[int]) -> np.ndarray:
    """|full-batch mean - sum_j (n_j / N) micro-batch mean_j|: each within its budget of the exact value, and
    the weighted sum taken in float64 by the check (gamma_{k+1} u64 relative to its terms)."""
    total = sum(sizes)
    weighted = sum(n / total * np.asarray(b, dtype=np.float64) for n, b in zip(sizes, parts))
    magnitude = sum(n / total * np.abs(np.asarray(v, dtype=np.float64)) for n, v in zip(sizes, values))
    return np.asarray(full, dtype=np.float64) + weighted + gamma(len(sizes) + 1,
                                                                  dtypes.get("float64").unit_roundoff) * magnitude


def _sgd_first_step(param: np.ndarray, grad: np.ndarray, error: np.ndarray, hyper: Mapping[str, object],
                    u: float) -> np.ndarray:
    """Error of one SGD step from a fresh optimizer (the buffer starts at the gradient, dampening 0), given the
    gradient's error: coupled weight decay g + wd*param (wd rounded, a product, a sum) or decoupled
    param - lr*wd*param first (Keras's order: wd and lr rounded, two products, a difference), Nesterov
    d = g + m*g (m rounded, a product, a sum; heavy ball d = g), then param - lr*d (lr rounded, a product, a
    difference)."""
    lr, momentum = float(hyper.get("lr", 1e-3)), float(hyper.get("momentum", 0.0))
    decay = float(hyper.get("weight_decay", 0.0))
    decayed = np.zeros_like(param)
    if hyper.get("weight_decay_mode", "coupled") == "decoupled":
        # Keras: param - param*wd*lr first (wd and lr rounded, two products, a difference), then the step on g
        shrink = lr * decay * param
        decayed = u * (4 * np.abs(shrink) + np.abs(param - shrink))
        param, g = param - shrink, grad
    else:
        g = grad + decay * param
        error = error + u * (2 * np.abs(decay * param) + np.abs(g))
    d = g + momentum * g if hyper.get("nesterov", False) else g
    if hyper.get("nesterov", False):
        error = (1 + momentum) * error + u * (2 * momentum * np.abs(g) + np.abs(d))
    return decayed + lr * error + u * (2 * lr * np.abs(d) + np.abs(param - lr * d))


def training_step(layers, masks, x, target, loss: str, loss_params: Mapping[str, object],
                  hyper: Mapping[str, object], dtype: str) -> dict:
    """Budgets of one training step (forward with fixed dropout masks, loss, backward, one SGD step from a
    fresh optimizer): the loss before the step, and every weight and bias after it.

    The network's bound (``_network_bound`` with the masks, per format) gives each gradient's error; the step adds its
    few roundings per element (``_sgd_first_step``). ``layers`` are float64 ``network.Layer`` values with the
    backend's conventions applied; ``hyper`` holds lr, momentum, nesterov, weight_decay (dampening 0).
    """
    from nnspec.reference import training

    masks = [None if m is None else np.asarray(m, dtype=np.float64) for m in masks]
    _, grads = training.loss_and_gradients(layers, x, target, loss=loss, loss_params=loss_params,
                                           dropout_masks=masks)
    floor = UNDERFLOW_FLOOR * dtypes.get(dtype).tiny
    result = {"loss": floor, "weights": [floor] * len(layers), "biases": [floor] * len(layers)}
    for fmt in (dtypes.get(dtype), dtypes.get("float64")):
        bound = _network_bound(layers, x, target, loss, loss_params, fmt, masks)
        result["loss"] = result["loss"] + float(bound["loss"])
        for i, (layer, layer_grads) in enumerate(zip(layers, grads)):
            result["weights"][i] = result["weights"][i] + _sgd_first_step(
                layer.weight, layer_grads.weight, bound["weights"][i], hyper, fmt.unit_roundoff)
            if layer.bias is not None:
                result["biases"][i] = result["biases"][i] + _sgd_first_step(
                    layer.bias, layer_grads.bias, bound["biases"][i], hyper, fmt.unit_roundoff)
    return result


# === optimizers (docs/spec/error-budgets.md#optimizers) ==========================================================
# A running error analysis (Wilkinson; Higham, section 3.3) of one optimizer step, written once more with tracked
# numbers: every rounded operation adds u*|result| + tiny (Higham's model with underflow, eq. 2.8, with the
# subnormal term widened to one smallest normal for flush-to-zero hardware), a scalar coefficient (lr, beta,
# 1 - beta, a bias correction) is rounded once to the format, and an argument's error is carried by the
# operation's partial derivative (first order; sqrt carries min(e / (2 sqrt x), sqrt e), max and abs are exact).
# Evaluated at the float64 values of the step, in the declared convention. Several steps chained carry each step's
# error through the later ones: that is how a free-running trajectory's budget grows with the step count.

#: Frameworks evaluate the same terms in other orders (PyTorch: lerp for beta*m + (1-beta)*g, fused addcdiv,
#: (1 - lr*wd)*p, sqrt(v)/sqrt(c) instead of sqrt(v/c)). A rewrite rounds intermediates of the same magnitudes in
#: another order; every such rewrite in the adapters' frameworks stays within twice the bound of the spec's order.
OPTIMIZER_ORDER_SLACK = 2.0


@dataclass(frozen=True)
class _Tracked:
    """An array of values and a first-order bound on the absolute error of computing them with unit roundoff u."""

    value: np.ndarray
    error: np.ndarray
    u: float
    tiny: float

    @staticmethod
    def exact(value, fmt: dtypes.Format, error=None) -> _Tracked:
        value = np.asarray(value, dtype=np.float64)
        error = np.zeros_like(value) if error is None else np.asarray(error, np.float64)
        return _Tracked(value, error, fmt.unit_roundoff, fmt.tiny)

    def _lift(self, other) -> _Tracked:
        if isinstance(other, _Tracked):
            return other
        return self.constant(other)

    def constant(self, value) -> _Tracked:
        """A Python number rounded once to this format (exact, with no error, when the format holds it: the 1
        in 1 - beta, a learning rate of 0.5)."""
        value = np.float64(value)
        significand = np.ldexp(np.frexp(value)[0], round(-np.log2(self.u)))
        exact = significand == np.round(significand)
        return _Tracked(value, np.where(exact, 0.0, self.u * np.abs(value)), self.u, self.tiny)

    def _rounded(self, value, carried) -> _Tracked:
        return _Tracked(value, carried + self.u * np.abs(value) + self.tiny, self.u, self.tiny)

    def __add__(self, other):
        other = self._lift(other)
        return self._rounded(self.value + other.value, self.error + other.error)

    __radd__ = __add__

    def __sub__(self, other):
        other = self._lift(other)
        return self._rounded(self.value - other.value, self.error + other.error)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __neg__(self):
        return _Tracked(-self.value, self.error, self.u, self.tiny)

    def __mul__(self, other):
        other = self._lift(other)
        carried = (_nan_safe_product(self.error, np.abs(other.value))
                   + _nan_safe_product(other.error, np.abs(self.value)))
        return self._rounded(self.value * other.value, carried)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other)
        quotient = self.value / other.value
        carried = (self.error + _nan_safe_product(other.error, np.abs(quotient))) / np.abs(other.value)
        return self._rounded(quotient, carried)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, exponent) -> _Tracked:
        """x**t for a step count t > 0: the argument's error carried by t x**(t-1), and the power's own rounding
        counted as max(1, t - 1) roundings: the bound of computing it by repeated multiplication, and no less than
        a library pow within one ulp of the exact power of its argument (glibc's powf, Eigen's pow)."""
        value = self.value ** exponent
        carried = _nan_safe_product(self.error, exponent * np.abs(self.value) ** (exponent - 1))
        return _Tracked(value, carried + max(1.0, exponent - 1) * self.u * np.abs(value) + self.tiny, self.u,
                        self.tiny)

    def sqrt(self) -> _Tracked:
        root = np.sqrt(self.value)
        carried = np.where(root > 0, np.minimum(self.error / (2 * root), np.sqrt(self.error)), np.sqrt(self.error))
        return self._rounded(root, carried)

    def maximum(self, other) -> _Tracked:
        other = self._lift(other)
        return _Tracked(np.maximum(self.value, other.value), np.maximum(self.error, other.error), self.u, self.tiny)

    def abs(self) -> _Tracked:
        return _Tracked(np.abs(self.value), self.error, self.u, self.tiny)

    def rounded_like(self, other: _Tracked) -> _Tracked:
        """The same number converted to ``other``'s format (a scalar coefficient applied to a tensor)."""
        return _Tracked(self.value, self.error + other.u * np.abs(self.value) + other.tiny, other.u, other.tiny)


def _coefficient(p: _Tracked, h, group: str, beta: float):
    """A hyperparameter such as beta as ``group``'s arithmetic uses it. In the spec's order it stays a Python
    number: every coefficient derived from it (beta**t, 1 - beta**t, 1 - beta) is computed in double precision
    and rounded once where it meets a tensor. Where the backend declares ``group`` in ``dtype_arithmetic``
    (Keras), beta is first rounded to the parameter's format and the coefficients are computed in that format,
    so 1 - beta**t carries the rounding of beta magnified by beta**t / (1 - beta**t)."""
    return p.constant(beta) if group in h.get("dtype_arithmetic", ()) else beta


def _sqrt(x):
    return x.sqrt() if isinstance(x, _Tracked) else float(np.sqrt(x))


def _moment(h, beta, old: _Tracked, new: _Tracked) -> _Tracked:
    """beta * old + (1 - beta) * new, or old + (new - old) * (1 - beta) where the backend declares
    ``moment_update: "incremental"`` (Keras): the same value, but its rounding is u |new - old| (1 - beta), which
    exceeds the weighted sum's when the gradient drops far below the moment."""
    if h.get("moment_update") == "incremental":
        return old + (new - old) * (1 - beta)
    return beta * old + (1 - beta) * new


def _decayed(p, g, step_size, h):
    """Weight decay in the declared mode (PyTorch's decoupled form (1 - lr*wd) * p rounds more than p - lr*wd*p)."""
    wd = h["weight_decay"]
    if wd != 0 and h.get("weight_decay_mode", "decoupled") == "coupled":
        g = g + wd * p
    if wd != 0 and h.get("weight_decay_mode", "decoupled") == "decoupled":
        p = p * (1 - step_size * wd)
    return p, g


def _sgd_bound(p, g, s, h):
    lr, mu, tau = h["lr"], h["momentum"], h["dampening"]
    p, g = _decayed(p, g, lr, h)
    buf = s["momentum_buffer"]
    if mu == 0:
        return p - lr * g, {}
    if h["momentum_buffer"] == "lr_scaled":
        buf = mu * buf - lr * (1 - tau) * g
        return p + (mu * buf - lr * g if h["nesterov"] else buf), {"momentum_buffer": buf}
    first = h["momentum_buffer"] == "raw_gradient_first_step_undampened" and s["step"] == 0
    buf = g if first else mu * buf + (1 - tau) * g
    return p - lr * (g + mu * buf if h["nesterov"] else buf), {"momentum_buffer": buf}


def _adagrad_bound(p, g, s, h):
    clr = h["lr"] / (1 + s["step"] * h["lr_decay"])
    p, g = _decayed(p, g, clr, h)
    total = s["sum"] + g * g
    denom = total.sqrt() + h["eps"] if h["eps_placement"] == "outside_sqrt" else (total + h["eps"]).sqrt()
    return p - clr * g / denom, {"sum": total}


def _rmsprop_bound(p, g, s, h):
    lr, alpha, mu = h["lr"], h["alpha"], h["momentum"]
    p, g = _decayed(p, g, lr, h)
    square_avg = alpha * s["square_avg"] + (1 - alpha) * (g * g)
    new = {"square_avg": square_avg}
    variance = square_avg
    if h["centered"]:
        new["grad_avg"] = alpha * s["grad_avg"] + (1 - alpha) * g
        variance = square_avg - new["grad_avg"] * new["grad_avg"]
    denom = variance.sqrt() + h["eps"] if h["eps_placement"] == "outside_sqrt" else (variance + h["eps"]).sqrt()
    if mu == 0:
        return p - lr * g / denom, new
    if h["momentum_buffer"] == "unscaled":
        new["momentum_buffer"] = mu * s["momentum_buffer"] + g / denom
        return p - lr * new["momentum_buffer"], new
    new["momentum_buffer"] = mu * s["momentum_buffer"] + lr * g / denom
    return p - new["momentum_buffer"], new


def _adadelta_bound(p, g, s, h):
    rho, eps = h["rho"], h["eps"]
    p, g = _decayed(p, g, h["lr"], h)
    square_avg = rho * s["square_avg"] + (1 - rho) * (g * g)
    delta = (s["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt() * g
    acc_delta = rho * s["acc_delta"] + (1 - rho) * (delta * delta)
    return p - h["lr"] * delta, {"square_avg": square_avg, "acc_delta": acc_delta}


def _adam_bound(p, g, s, h):
    (beta1, beta2), t, lr, eps = h["betas"], s["step"] + 1, h["lr"], h["eps"]
    p, g = _decayed(p, g, lr, h)
    moment1, moment2 = (_coefficient(p, h, "moment_weight", b) for b in (beta1, beta2))
    new = {"exp_avg": _moment(h, moment1, s["exp_avg"], g), "exp_avg_sq": _moment(h, moment2, s["exp_avg_sq"], g * g)}
    correction1, correction2 = (1 - _coefficient(p, h, "bias_correction", b) ** t for b in (beta1, beta2))
    v = new["exp_avg_sq"]
    if h["amsgrad"] and h["amsgrad_max_of"] == "raw_v":
        v = new["max_exp_avg_sq"] = s["max_exp_avg_sq"].maximum(v)
    elif h["amsgrad"]:
        v = new["max_exp_avg_sq"] = s["max_exp_avg_sq"].maximum(v / correction2)
        correction2 = 1.0
    if h["eps_placement"] == "outside_sqrt":
        denom = v.sqrt() / _sqrt(correction2) + eps
    elif h["eps_placement"] == "inside_sqrt":
        denom = (v / correction2 + eps).sqrt()
    else:
        return p - lr * _sqrt(correction2) / correction1 * new["exp_avg"] / (v.sqrt() + eps), new
    return p - lr / correction1 * new["exp_avg"] / denom, new


def _adamax_bound(p, g, s, h):
    (beta1, beta2), t, eps = h["betas"], s["step"] + 1, h["eps"]
    p, g = _decayed(p, g, h["lr"], h)
    exp_avg = _moment(h, _coefficient(p, h, "moment_weight", beta1), s["exp_avg"], g)
    if h["eps_placement"] == "in_max":
        exp_inf = (beta2 * s["exp_inf"]).maximum(g.abs() + eps)
        denom = exp_inf
    else:
        exp_inf = (beta2 * s["exp_inf"]).maximum(g.abs())
        denom = exp_inf + eps
    correction1 = 1 - _coefficient(p, h, "bias_correction", beta1) ** t
    return p - h["lr"] / correction1 * exp_avg / denom, {"exp_avg": exp_avg, "exp_inf": exp_inf}


def _nadam_bound(p, g, s, h):
    (beta1, beta2), t, lr = h["betas"], s["step"] + 1, h["lr"]
    p, g = _decayed(p, g, lr, h)
    if h["momentum_schedule"] == "dozat":
        b1, decay = _coefficient(p, h, "schedule", beta1), _coefficient(p, h, "schedule", 0.96)
        mu = b1 * (1 - 0.5 * decay ** (t * h["momentum_decay"]))
        mu_next = b1 * (1 - 0.5 * decay ** ((t + 1) * h["momentum_decay"]))
    else:
        mu = mu_next = beta1
    product = s["mu_product"] * mu  # in the scalar's own format (its u)
    moment1, moment2 = (_coefficient(p, h, "moment_weight", b) for b in (beta1, beta2))
    exp_avg = _moment(h, moment1, s["exp_avg"], g)
    exp_avg_sq = _moment(h, moment2, s["exp_avg_sq"], g * g)
    denom = (exp_avg_sq / (1 - _coefficient(p, h, "bias_correction", beta2) ** t)).sqrt() + h["eps"]
    first = (lr * (1 - mu) / (1 - product)).rounded_like(p)  # the coefficient, converted to the param's format
    second = (lr * mu_next / (1 - product * mu_next)).rounded_like(p)
    p = p - first * g / denom
    p = p - second * exp_avg / denom
    return p, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "mu_product": product}


_OPTIMIZER_BOUNDS = {"sgd": _sgd_bound, "adagrad": _adagrad_bound, "rmsprop": _rmsprop_bound,
                     "adadelta": _adadelta_bound, "adam": _adam_bound, "adamw": _adam_bound,
                     "adamax": _adamax_bound, "nadam": _nadam_bound}


def _optimizer_keywords(optimizer: str, keywords: Mapping[str, object]) -> dict[str, object]:
    """The reference step's keyword defaults, overridden by the given hyperparameters and conventions."""
    import importlib
    import inspect

    step = importlib.import_module(f"nnspec.reference.optimizers.{optimizer}").step
    defaults = {k: v.default for k, v in inspect.signature(step).parameters.items()
                if v.default is not inspect.Parameter.empty}
    return {**defaults, **keywords}


def _optimizer_run(optimizer, h, param, grads, state, fmt: dtypes.Format,
                   scalar: dtypes.Format) -> list[dict[str, np.ndarray]]:
    fields = state._asdict() if hasattr(state, "_asdict") else dict(state)
    tracked = {"step": int(fields["step"])}
    for name, value in fields.items():
        if name == "mu_product":  # held in the scalar format: its value is rounded once on loading
            tracked[name] = _Tracked.exact(value, scalar, scalar.unit_roundoff * abs(float(value)))
        elif name != "step":
            tracked[name] = None if value is None else _Tracked.exact(value, fmt)
    p, out = _Tracked.exact(param, fmt), []
    for grad in grads:
        p, new = _OPTIMIZER_BOUNDS[optimizer](p, _Tracked.exact(grad, fmt), tracked, h)
        tracked = {**tracked, **new, "step": tracked["step"] + 1}
        out.append({"param": p.error, **{k: v.error for k, v in new.items()}})
    return out


def optimizer_steps(optimizer: str, keywords: Mapping[str, object], param: np.ndarray, grads, state,
                    dtype: str, precision: Mapping[str, object] | None = None) -> list[dict[str, np.ndarray]]:
    """Budgets for the parameter and every state array after each of ``len(grads)`` steps taken from ``state``.

    One gradient from the reference's state is the per-step check; several gradients from ``init``'s state are a
    free-running trajectory, whose budget at step k carries the rounding of steps 1..k-1 through the update's
    derivatives (docs/spec/error-budgets.md#optimizers).

    Args:
        optimizer: a module of ``nnspec.reference.optimizers``.
        keywords: the hyperparameters and the convention keywords the reference is evaluated with.
        param, grads, state: float64 values exact in ``dtype``; ``state`` a reference State (or its dict).
        dtype: the dtype under test.
        precision: the backend's declared precision facts (docs/spec/optimizers.md#precision): ``scalar_dtype``,
            the format of its scalar state (NAdam's ``mu_product``) when coarser than ``dtype`` (PyTorch: float32
            also for float64 parameters); ``dtype_arithmetic``, the coefficient groups ("bias_correction",
            "moment_weight", "schedule") it computes in ``dtype`` from rounded hyperparameters; ``moment_update``
            "incremental" for m + (g - m)(1 - beta); ``float32_hyperparameters`` changes no rounding here: the
            caller evaluates the reference, and these budgets, at the framework's float32-rounded values
            (``optimizer_checks.reference_keywords`` and ``step_reference``), which are then exact.

    Returns:
        One dict per step: ``"param"`` and each state field (``mu_product`` 0-d) -> budget array.
    """
    precision = dict(precision or {})
    unknown = set(precision) - {"scalar_dtype", "dtype_arithmetic", "moment_update", "float32_hyperparameters"}
    if unknown:
        raise ValueError(f"precision: unknown facts {sorted(unknown)}; expected scalar_dtype, dtype_arithmetic, "
                         "moment_update, float32_hyperparameters")
    groups = set(precision.get("dtype_arithmetic", ())) - {"bias_correction", "moment_weight", "schedule"}
    if groups:
        raise ValueError(f"precision: dtype_arithmetic groups {sorted(groups)} are not bias_correction, "
                         "moment_weight or schedule")
    if precision.get("moment_update", "weighted_sum") not in ("weighted_sum", "incremental"):
        raise ValueError(f"precision: moment_update must be 'weighted_sum' or 'incremental', "
                         f"got {precision['moment_update']!r}")
    with np.errstate(all="ignore"):
        scalar_dtype = precision.pop("scalar_dtype", None)
        h = {**_optimizer_keywords(optimizer, keywords), **precision}
        fmt, f64 = dtypes.get(dtype), dtypes.get("float64")
        scalar = dtypes.get(scalar_dtype) if scalar_dtype else fmt
        scalar = scalar if scalar.unit_roundoff > fmt.unit_roundoff else fmt
        low = _optimizer_run(optimizer, h, param, grads, state, fmt, scalar)
        high = _optimizer_run(optimizer, h, param, grads, state, f64, f64)
        floor = UNDERFLOW_FLOOR * fmt.tiny
        return [{k: OPTIMIZER_ORDER_SLACK * (a[k] + b[k]) + floor for k in a} for a, b in zip(low, high)]


# === TensorFlow / Keras: BCE on clipped probabilities (docs/spec/losses.md#binary-cross-entropy) ================
# Keras's BinaryCrossentropy clips p to [c, 1 - c] (``clip_probability``). The clip is exact, but its bounds are
# constants of the dtype: in float32, 1 - 1e-7 is stored as 1 - 2**-23, which moves -log(1 - p) at the upper
# bound by 0.18 (and the lower bound by a relative 1e-8). The budget is BCE's own at the clipped p, plus exactly
# how far the loss moves when a clipped element's bound is rounded to the dtype.

_bce_unclipped_fwd = _FORWARD["binary_cross_entropy"]


def _bce_clipped_fwd(a, p, fmt):
    c = p.get("clip_probability")
    if c is None:
        return _bce_unclipped_fwd(a, p, fmt)
    from nnspec.reference.losses import binary_cross_entropy

    prob, y = a["probability"], a["target"]
    clipped = np.clip(prob, c, 1 - c)
    rest = {k: v for k, v in p.items() if k != "clip_probability"}
    element = _bce_unclipped_fwd({"probability": clipped, "target": y}, {**rest, "reduction": "none"}, fmt)
    if fmt.name in dtypes.FORMATS:  # (a bound in units of u, for the network budgets, has no dtype to round to)
        bounds = dtypes.round_to(clipped, fmt.name)
        moved = binary_cross_entropy.forward(bounds, y, "none") - binary_cross_entropy.forward(clipped, y, "none")
        element = element + np.where(clipped != prob, np.abs(moved), 0.0)
    values = binary_cross_entropy.forward(prob, y, reduction="none", clip_probability=c)
    return _reduce(values, element, p.get("reduction", "mean"), _count(a, "probability"), fmt.unit_roundoff)


_FORWARD["binary_cross_entropy"] = _bce_clipped_fwd  # the one entry point keeps serving every BCE variant
