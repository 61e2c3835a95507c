"""BatchNorm's running statistics: the exponential moving averages training keeps, and the inference-mode
output that uses them instead of the batch's own statistics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.normalization import _standardize
from nnspec.reference.normalization.batch_norm import DEFAULT_EPS

__all__ = ["CONVENTIONS", "DEFAULT_MOMENTUM", "after_batches", "inference"]

#: Each convention keyword and its named values (docs/spec/normalization.md#running-statistics):
#: ``momentum_weights``: "new" (PyTorch: running = (1 - momentum) * running + momentum * batch) or "old" (Keras:
#: running = momentum * running + (1 - momentum) * batch); ``running_variance``: the batch variance the running
#: variance averages, "unbiased" (PyTorch: sum / (N - 1)) or "biased" (Keras: sum / N, the one it normalizes with).
CONVENTIONS = {"momentum_weights": ("new", "old"), "running_variance": ("unbiased", "biased")}
#: PyTorch's default (nn.BatchNorm1d(momentum=0.1), with momentum_weights "new"); Keras's is 0.99 ("old").
DEFAULT_MOMENTUM = 0.1


def after_batches(batches: Sequence[np.ndarray], *, momentum: float = DEFAULT_MOMENTUM,
                  momentum_weights: str = "new", running_variance: str = "unbiased") -> tuple[np.ndarray, np.ndarray]:
    """The running mean and variance after one training step on each batch (N, C), in order.

    Spec: docs/spec/normalization.md#running-statistics

    Math:
        running_mean = 0, running_var = 1                       before the first batch (torch and Keras)
        for each batch x (N, C):
            mean = sum_n x[n] / N
            var = sum_n (x[n] - mean)**2 / N, times N / (N - 1) when running_variance == "unbiased"
            keep = 1 - momentum if momentum_weights == "new" else momentum
            running_mean = keep * running_mean + (1 - keep) * mean
            running_var = keep * running_var + (1 - keep) * var

    Args:
        batches: one or more real floating-point arrays of shape (N, C), all with the same C; N >= 2 when
            ``running_variance`` is "unbiased" (N - 1 = 0 would divide by zero).
        momentum: in [0, 1]; the defaults are PyTorch's (0.1, "new", "unbiased").
        momentum_weights, running_variance: the conventions in ``CONVENTIONS``.

    Returns:
        ``(running_mean, running_var)``, each of shape (C,), float64.

    Raises:
        TypeError: if a batch is not a real floating-point array, or momentum is not a real number.
        ValueError: if batches is empty, a batch is not (N, C) with the first batch's C, N = 1 with the unbiased
            variance, momentum is outside [0, 1] or a convention is not one of its values.

    Example:
        >>> after_batches([np.array([[1.0], [3.0]])], momentum=0.1)  # var: 2 unbiased; 0.9 * 1 + 0.1 * 2
        (array([0.2]), array([1.1]))
        >>> after_batches([np.array([[1.0], [3.0]])], momentum=0.99, momentum_weights="old",
        ...               running_variance="biased")  # 0.99 * 0 + 0.01 * 2; 0.99 * 1 + 0.01 * 1
        (array([0.02]), array([1.]))
    """
    function = "running_stats.after_batches"
    momentum = check.real_number(function, "momentum", momentum, low=0.0, high=1.0)
    check.choice(function, "momentum_weights", momentum_weights, CONVENTIONS["momentum_weights"])
    check.choice(function, "running_variance", running_variance, CONVENTIONS["running_variance"])
    batches = check.sequence(function, "batches", batches)
    if not batches:
        raise ValueError(f"{function}: batches must hold at least one batch, got none")
    keep = 1.0 - momentum if momentum_weights == "new" else momentum
    running_mean, running_var = None, None
    for index, batch in enumerate(batches):
        batch = check.float_array(function, f"batches[{index}]", batch)
        check.check_shape(function, f"batches[{index}]", batch, (None, None if index == 0 else running_mean.size))
        count = batch.shape[0]
        if count < (2 if running_variance == "unbiased" else 1):
            raise ValueError(f"{function}: batches[{index}] must have at least 2 rows for the unbiased variance, "
                             f"got {count}")
        if running_mean is None:
            running_mean, running_var = np.zeros(batch.shape[1]), np.ones(batch.shape[1])
        mean, var = (s[0] for s in _standardize.statistics(batch.astype(np.float64), axis=0))
        if running_variance == "unbiased":
            var = var * count / (count - 1)
        running_mean = keep * running_mean + (1.0 - keep) * mean
        running_var = keep * running_var + (1.0 - keep) * var
    return running_mean, running_var


def inference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, running_mean: np.ndarray,
              running_var: np.ndarray, *, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Inference-mode batch normalization: x standardized with the running statistics, then scaled and shifted.

    Spec: docs/spec/normalization.md#inference

    Math:
        y = (x - running_mean) / sqrt(running_var + eps) * weight + bias

    Args:
        x: real floating-point array of shape (N, C).
        weight, bias, running_mean, running_var: arrays of shape (C,); running_var >= 0.
        eps: >= 0 (default PyTorch's 1e-5).

    Returns:
        Array of shape (N, C), in the widest input dtype.

    Raises:
        TypeError: if an argument is not a real floating-point array or eps is not a real number.
        ValueError: if a shape does not match, running_var has a negative value or eps is negative.

    Example:
        >>> inference(np.array([[4.0]]), np.array([2.0]), np.array([1.0]), np.array([1.0]), np.array([9.0]),
        ...           eps=0.0)  # (4 - 1) / 3 * 2 + 1
        array([[3.]])
    """
    function = "running_stats.inference"
    x, weight, bias, eps = _standardize.checked(function, x, weight, bias, eps, axis=0)
    check.check_shape(function, "x", x, (None, None))
    running_mean = check.float_array(function, "running_mean", running_mean)
    check.check_shape(function, "running_mean", running_mean, weight.shape)
    running_var = check.float_array(function, "running_var", running_var)
    check.check_shape(function, "running_var", running_var, weight.shape)
    if np.any(running_var < 0):
        raise ValueError(f"{function}: running_var must be >= 0, got {running_var}")
    dtype = check.result_dtype(x, weight, bias, running_mean, running_var)
    y = (x - running_mean) / np.sqrt(running_var + eps) * weight + bias
    return y.astype(dtype, copy=False)
