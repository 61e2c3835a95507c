"""The error model: the rules every bound of the suite is built from, and the one place they are stated.

A concept's bounds live in its room (``conformance/activations/relu.py`` for ``reference/activations/relu.py``,
...); this module holds only the method they share (docs/spec/error-budgets.md#method). Inputs are first rounded
to the dtype under test, so the backend and the reference see the same numbers; what remains is the backend's
own rounding. A room bounds it by a running error analysis of the spec's formula: every correctly rounded
operation (+, -, *, /, sqrt) adds at most ``u`` times the magnitude of its result, every elementary function
(exp, log, log1p, tanh, erf) at most ``LIBM_ULPS * u`` of its result, and an error already present in an argument
is carried through by the function's derivative (its conditioning). The budget is the sum of these terms at the
actual input (:func:`total`):

    budget = bound(u_dtype) + bound(u_float64) + UNDERFLOW_FLOOR * tiny_dtype

The second term is the float64 reference's own error; the third term is the absolute floor below which a
format has no relative accuracy (subnormals, which GPUs may also flush to zero). Reductions use the classical
worst-case bound gamma_n = n*u / (1 - n*u) on sums of n terms (Higham, Accuracy and Stability of Numerical
Algorithms, 2nd ed., section 3.1): it never raises a false alarm, and for the accumulation lengths the suite
draws (n <= 64) it is still tighter than the error of a TF32 matrix product (docs/spec/error-budgets.md#tf32).
Optimizer steps are bounded with :class:`Tracked` numbers (docs/spec/error-budgets.md#optimizers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nnspec.reference import dtypes

__all__ = ["LIBM_ULPS", "UNDERFLOW_FLOOR", "FALSE_ALARM_PER_CHECK", "OPTIMIZER_ORDER_SLACK", "IN_UNITS_OF_U",
           "Tracked", "gamma", "nan_safe_product", "flushed_products", "total", "sum_of_budgets", "reduce_loss",
           "grad_scale", "coefficient", "moment", "decayed"]

#: An elementary function (exp, log, log1p, tanh, erf) of a mainstream math library is accurate to a few ulps:
#: SLEEF's u35 variants (used by PyTorch's vectorised CPU kernels) guarantee 3.5 ulp, CUDA's libdevice 1-4 ulp
#: for these functions, glibc 1-2 ulp. Four units of roundoff cover each call.
LIBM_ULPS = 4.0

#: Results below the smallest normal number carry no relative accuracy, and flush-to-zero hardware may
#: replace them by 0; a budget never demands more than two smallest normals of absolute accuracy.
UNDERFLOW_FLOOR = 2.0

#: The largest probability that one statistical check fails on a correct backend (one in a million). Over a
#: whole run the false alarms add up at most to (number of statistical checks) x this (docs/spec/error-budgets.md).
FALSE_ALARM_PER_CHECK = 1e-6

#: Frameworks evaluate the same terms in other orders (PyTorch: lerp for beta*m + (1-beta)*g, fused addcdiv,
#: (1 - lr*wd)*p, sqrt(v)/sqrt(c) instead of sqrt(v/c)). A rewrite rounds intermediates of the same magnitudes in
#: another order; every such rewrite in the adapters' frameworks stays within twice the bound of the spec's order.
OPTIMIZER_ORDER_SLACK = 2.0

#: A pseudo-format with u = 1 and no underflow: a bound evaluated in it is expressed in units of u.
IN_UNITS_OF_U = dtypes.Format("units of u", precision=0, max_exponent=1024, min_exponent=-100000)


def gamma(n: int | np.ndarray, u: float) -> np.ndarray:
    """Worst-case relative error factor of a length-n sum or dot product: n*u / (1 - n*u) (Higham 3.1).

    Example:
        >>> float(gamma(1, 2.0 ** -24)) > 2.0 ** -24
        True
    """
    nu = np.asarray(n, dtype=np.float64) * u
    with np.errstate(divide="ignore"):
        return np.where(nu < 1.0, nu / (1.0 - nu), np.inf)


def nan_safe_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b with 0 * inf taken as 0: a term that is absent contributes no error.

    Example:
        >>> nan_safe_product(np.array([0.0, 2.0]), np.array([np.inf, 3.0])).tolist()
        [0.0, 6.0]
    """
    with np.errstate(invalid="ignore"):
        return np.where((a == 0) | (b == 0), 0.0, a * b)


def flushed_products(products: int, amplification: np.ndarray, fmt: dtypes.Format) -> np.ndarray:
    """Absolute error of a gradient g * f'(x) whose intermediate products of g with the factors of f'(x) fall
    below the smallest normal: each of ``products`` such roundings loses at most ``tiny`` (flushed to zero, as
    oneDNN and GPUs may do; Higham's model: every rounding adds u |result| + tiny), which the factors multiplied
    in after it scale by at most ``amplification`` (the product of the factors' magnitudes above 1, evaluated
    per element). 0 where the amplification is not finite (x = +-inf: the NaN/inf rules judge those).

    Example:
        >>> float(flushed_products(2, np.array(3.0), dtypes.FORMATS["float32"])) == 6 * 2.0**-126
        True
    """
    amplification = np.asarray(amplification, dtype=np.float64)
    return np.where(np.isfinite(amplification), products * fmt.tiny * amplification, 0.0)


def total(bound: Callable[[dtypes.Format], np.ndarray], fmt: dtypes.Format) -> np.ndarray:
    """The budget in ``fmt`` of a room's ``bound(fmt)``: its value in that format, plus the float64 reference's own
    (the same bound in float64), plus the underflow floor. Infinite inputs give NaN bounds, read as "exact" by
    ``comparison.compare``.

    Example:
        >>> float(total(lambda f: np.asarray(f.unit_roundoff), dtypes.FORMATS["float32"])) > 2.0 ** -24
        True
    """
    with np.errstate(all="ignore"):
        return bound(fmt) + bound(dtypes.FLOAT64) + UNDERFLOW_FLOOR * fmt.tiny


def sum_of_budgets(*budgets: np.ndarray) -> np.ndarray:
    """Two (or more) results, each within its budget of the same exact value, differ by at most the sum (the
    triangle inequality).

    Example:
        >>> sum_of_budgets(np.array([1.0]), np.array([0.5])).tolist()
        [1.5]
    """
    return sum(np.asarray(b, dtype=np.float64) for b in budgets)


def reduce_loss(values: np.ndarray, element_budget: np.ndarray, reduction: str, count: int, u: float) -> np.ndarray:
    """Carry per-element (or per-example) loss budgets through the reduction: the sum of n terms adds
    gamma_{n-1} times the sum of their magnitudes; 'mean' divides the result by ``count`` (one more u).

    Example:
        >>> float(reduce_loss(np.array([1.0, 1.0]), np.zeros(2), "sum", 2, 0.5))
        2.0
    """
    if reduction == "none":
        return element_budget
    magnitude = np.sum(np.abs(values))
    result = np.sum(element_budget) + gamma(max(count - 1, 0), u) * magnitude
    if reduction == "sum":
        return result
    return result / count + u * magnitude / count


def grad_scale(g: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """The factor a loss's upstream gradient ``g`` brings to each element's gradient: g / count under 'mean'.

    Example:
        >>> float(grad_scale(np.asarray(1.0), "mean", 4))
        0.25
    """
    g = np.asarray(g, dtype=np.float64)
    return g / count if reduction == "mean" else g


# --- tracked arithmetic (docs/spec/error-budgets.md#optimizers) ------------------------------------------------
# A running error analysis (Wilkinson; Higham, section 3.3) of one optimizer step, written once more with tracked
# numbers: every rounded operation adds u*|result| + tiny (Higham's model with underflow, eq. 2.8, with the
# subnormal term widened to one smallest normal for flush-to-zero hardware), a scalar coefficient (lr, beta,
# 1 - beta, a bias correction) is rounded once to the format, and an argument's error is carried by the
# operation's partial derivative (first order; sqrt carries min(e / (2 sqrt x), sqrt e), max and abs are exact).
# Evaluated at the float64 values of the step, in the declared convention. Several steps chained carry each step's
# error through the later ones: that is how a free-running trajectory's budget grows with the step count.


@dataclass(frozen=True)
class Tracked:
    """An array of values and a first-order bound on the absolute error of computing them with unit roundoff u.

    Arithmetic on Tracked values (+, -, *, /, **, ``sqrt``, ``maximum``, ``abs``) computes the float64 value and
    adds each operation's rounding and carried error; a Python number meets a Tracked value through
    :meth:`constant`.

    Example:
        >>> x = Tracked.exact(np.array([3.0]), dtypes.FORMATS["float32"])
        >>> y = x * x  # exact arguments: one rounding, u |9| (plus tiny, below float64's resolution here)
        >>> float(y.value[0]), float(y.error[0] / 2.0 ** -24)
        (9.0, 9.0)
    """

    value: np.ndarray
    error: np.ndarray
    u: float
    tiny: float

    @staticmethod
    def exact(value, fmt: dtypes.Format, error=None) -> Tracked:
        """``value`` held in ``fmt`` with the given error (none by default)."""
        value = np.asarray(value, dtype=np.float64)
        error = np.zeros_like(value) if error is None else np.asarray(error, np.float64)
        return Tracked(value, error, fmt.unit_roundoff, fmt.tiny)

    def _lift(self, other) -> Tracked:
        if isinstance(other, Tracked):
            return other
        return self.constant(other)

    def constant(self, value) -> Tracked:
        """A Python number rounded once to this format (exact, with no error, when the format holds it: the 1
        in 1 - beta, a learning rate of 0.5)."""
        value = np.float64(value)
        significand = np.ldexp(np.frexp(value)[0], round(-np.log2(self.u)))
        exact = significand == np.round(significand)
        return Tracked(value, np.where(exact, 0.0, self.u * np.abs(value)), self.u, self.tiny)

    def _rounded(self, value, carried) -> Tracked:
        return Tracked(value, carried + self.u * np.abs(value) + self.tiny, self.u, self.tiny)

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
        return Tracked(-self.value, self.error, self.u, self.tiny)

    def __mul__(self, other):
        other = self._lift(other)
        carried = (nan_safe_product(self.error, np.abs(other.value))
                   + nan_safe_product(other.error, np.abs(self.value)))
        return self._rounded(self.value * other.value, carried)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other)
        quotient = self.value / other.value
        carried = (self.error + nan_safe_product(other.error, np.abs(quotient))) / np.abs(other.value)
        return self._rounded(quotient, carried)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, exponent) -> Tracked:
        """x**t for a step count t > 0: the argument's error carried by t x**(t-1), and the power's own rounding
        counted as max(1, t - 1) roundings: the bound of computing it by repeated multiplication, and no less than
        a library pow within one ulp of the exact power of its argument (glibc's powf, Eigen's pow)."""
        value = self.value ** exponent
        carried = nan_safe_product(self.error, exponent * np.abs(self.value) ** (exponent - 1))
        return Tracked(value, carried + max(1.0, exponent - 1) * self.u * np.abs(value) + self.tiny, self.u,
                       self.tiny)

    def sqrt(self) -> Tracked:
        """The rounded square root; the argument's error e carried as min(e / (2 sqrt x), sqrt e)."""
        root = np.sqrt(self.value)
        carried = np.where(root > 0, np.minimum(self.error / (2 * root), np.sqrt(self.error)), np.sqrt(self.error))
        return self._rounded(root, carried)

    def maximum(self, other) -> Tracked:
        """The elementwise maximum (exact): the larger of the two errors."""
        other = self._lift(other)
        return Tracked(np.maximum(self.value, other.value), np.maximum(self.error, other.error), self.u, self.tiny)

    def abs(self) -> Tracked:
        """The magnitude (exact)."""
        return Tracked(np.abs(self.value), self.error, self.u, self.tiny)

    def rounded_like(self, other: Tracked) -> Tracked:
        """The same number converted to ``other``'s format (a scalar coefficient applied to a tensor)."""
        return Tracked(self.value, self.error + other.u * np.abs(self.value) + other.tiny, other.u, other.tiny)


# --- terms several optimizer rooms share ------------------------------------------------------------------------
# ``h`` is the step's hyperparameters, convention keywords and declared precision facts (budgets.optimizer_steps).


def coefficient(p: Tracked, h: Mapping[str, object], group: str, beta: float) -> Tracked | float:
    """A hyperparameter such as beta as ``group``'s arithmetic uses it. In the spec's order it stays a Python
    number: every coefficient derived from it (beta**t, 1 - beta**t, 1 - beta) is computed in double precision
    and rounded once where it meets a tensor. Where the backend declares ``group`` in ``dtype_arithmetic``
    (Keras), beta is first rounded to the parameter's format and the coefficients are computed in that format,
    so 1 - beta**t carries the rounding of beta magnified by beta**t / (1 - beta**t)."""
    return p.constant(beta) if group in h.get("dtype_arithmetic", ()) else beta


def moment(h: Mapping[str, object], beta, old: Tracked, new: Tracked) -> Tracked:
    """beta * old + (1 - beta) * new, or old + (new - old) * (1 - beta) where the backend declares
    ``moment_update: "incremental"`` (Keras): the same value, but its rounding is u |new - old| (1 - beta), which
    exceeds the weighted sum's when the gradient drops far below the moment."""
    if h.get("moment_update") == "incremental":
        return old + (new - old) * (1 - beta)
    return beta * old + (1 - beta) * new


def decayed(p: Tracked, g: Tracked, step_size, h: Mapping[str, object]) -> tuple[Tracked, Tracked]:
    """Weight decay in the declared mode (PyTorch's decoupled form (1 - lr*wd) * p rounds more than p - lr*wd*p)."""
    wd = h["weight_decay"]
    if wd != 0 and h.get("weight_decay_mode", "decoupled") == "coupled":
        g = g + wd * p
    if wd != 0 and h.get("weight_decay_mode", "decoupled") == "decoupled":
        p = p * (1 - step_size * wd)
    return p, g
