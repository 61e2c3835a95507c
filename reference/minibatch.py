"""Mini-batch gradient descent: the batches of an epoch, the batch-mean loss and gradient (of any model: its loss
and gradient function is passed in), and gradient accumulation over micro-batches.

Spec: docs/spec/minibatch.md
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from nnspec.reference import _validation as check

WEIGHTINGS = ("by_size", "equal")


def _count(function: str, name: str, value: object, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{function}: {name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{function}: {name} must be >= {low}, got {value}")
    return int(value)


def batches(n_examples: int, batch_size: int, rng: np.random.Generator | None = None, shuffle: bool = True,
            drop_last: bool = False) -> list[np.ndarray]:
    """The index batches of one epoch: a permutation drawn from ``rng`` (or 0..n-1 in order), cut in runs.

    Spec: docs/spec/minibatch.md#batches

    Math:
        order = rng.permutation(n_examples) if shuffle else [0, 1, ..., n_examples - 1]
        batch k = order[k * batch_size : (k + 1) * batch_size]
        the last batch has n_examples mod batch_size examples; it is dropped when drop_last

    Args:
        n_examples: int >= 0. batch_size: int >= 1. shuffle, drop_last: bools.
        rng: a ``numpy.random.Generator``, required when shuffle; each call draws one epoch's permutation, so
            successive calls give successive epochs and a seed reproduces them all.

    Returns:
        A list of int64 index arrays; with drop_last False every example appears exactly once.

    Raises:
        TypeError, ValueError: for a count that is not an int in range, a non-bool flag, an rng that is not a
            Generator, or shuffle without an rng.

    Example:
        >>> [b.tolist() for b in batches(5, 2, shuffle=False)]
        [[0, 1], [2, 3], [4]]
    """
    function = "minibatch.batches"
    n_examples = _count(function, "n_examples", n_examples, 0)
    batch_size = _count(function, "batch_size", batch_size, 1)
    for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{function}: {name} must be a bool, got {type(value).__name__}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{function}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if shuffle and rng is None:
        raise ValueError(f"{function}: rng must be a numpy.random.Generator when shuffle is True, got None")
    order = rng.permutation(n_examples) if shuffle else np.arange(n_examples)
    stop = n_examples - n_examples % batch_size if drop_last else n_examples
    return [order[start:start + batch_size].astype(np.int64) for start in range(0, stop, batch_size)]


def _weighted_mean(function: str, gradients: list[object], weights: list[int]) -> object:
    """sum_j weights[j] * gradients[j] / sum_j weights[j], tensor by tensor, in the gradients' dtype."""
    single = not isinstance(gradients[0], (tuple, list))
    tensors = [[check.float_array(function, "gradient", t) for t in ([g] if single else g)] for g in gradients]
    for other in tensors[1:]:
        if len(other) != len(tensors[0]):
            raise ValueError(f"{function}: every gradient must have {len(tensors[0])} tensor(s), got {len(other)}")
        for a, b in zip(other, tensors[0]):
            check.same_shape(function, "gradient", a, "the first gradient", b)
    mean = [np.asarray(sum(w * t[k] for w, t in zip(weights, tensors)) / sum(weights),
                       dtype=check.result_dtype(*[t[k] for t in tensors])) for k in range(len(tensors[0]))]
    return mean[0] if single else mean


def mean_loss_and_gradient(loss_and_gradient_fn: Callable, params: object, x: np.ndarray,
                           y: np.ndarray) -> tuple[float, object]:
    """The batch's mean loss and mean gradient, from one call of the function per example.

    Spec: docs/spec/minibatch.md#batch-mean

    Math:
        (loss_i, grad_i) = loss_and_gradient_fn(params, x[i:i+1], y[i:i+1])     for i = 0 .. n-1
        loss = (loss_0 + ... + loss_{n-1}) / n
        gradient = (grad_0 + ... + grad_{n-1}) / n              (per tensor)

    Args:
        loss_and_gradient_fn: ``(params, x_batch, y_batch) -> (loss, gradient)``.
        params: passed through to the function unchanged.
        x, y: arrays whose first axis indexes the same n >= 1 examples.

    Returns:
        ``(loss, gradient)``: a float, and an array or a list of arrays as the function returns them.

    Raises:
        TypeError: if loss_and_gradient_fn is not callable, or x or y is not an array.
        ValueError: for an empty batch or first axes of different lengths.

    Example:
        >>> fn = lambda w, xb, yb: (float(w * xb[0]), xb[0])
        >>> mean_loss_and_gradient(fn, 2.0, np.array([1.0, 3.0]), np.array([0.0, 0.0]))
        (4.0, array(2.))
    """
    function = "minibatch.mean_loss_and_gradient"
    if not callable(loss_and_gradient_fn):
        raise TypeError(f"{function}: loss_and_gradient_fn must be callable, got {type(loss_and_gradient_fn).__name__}")
    x, y = check.array(function, "x", x), check.array(function, "y", y)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{function}: x must hold at least one example along axis 0, got shape {x.shape}")
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{function}: y must have {x.shape[0]} examples along axis 0, got shape {y.shape}")
    results = [loss_and_gradient_fn(params, x[i:i + 1], y[i:i + 1]) for i in range(x.shape[0])]
    n = len(results)
    return sum(float(loss_i) for loss_i, _ in results) / n, _weighted_mean(function, [g for _, g in results], [1] * n)


def accumulate(micro_batch_gradients: Sequence[object], micro_batch_sizes: Sequence[int],
               weighting: str = "by_size") -> object:
    """Combine micro-batch mean gradients into one gradient (gradient accumulation).

    Spec: docs/spec/minibatch.md#gradient-accumulation

    Math:
        "by_size": gradient = (n_1 * g_1 + ... + n_k * g_k) / (n_1 + ... + n_k)   (the full-batch mean)
        "equal":   gradient = (g_1 + ... + g_k) / k            (Keras, optax.MultiSteps, "loss / k" loops;
                                                                equal to "by_size" only when all n_j agree)

    Args:
        micro_batch_gradients: k >= 1 mean gradients, each an array or a tuple/list of arrays.
        micro_batch_sizes: k ints >= 1, the number of examples behind each mean.
        weighting: "by_size" (exact) or "equal".

    Returns:
        The combined gradient, shaped as each input gradient.

    Raises:
        TypeError, ValueError: for arguments that are not lists or tuples, a non-int or < 1 size, a non-float
            gradient, mismatched lengths or shapes, no micro-batch, an unknown weighting.

    Example:
        >>> accumulate([np.array([1.0]), np.array([4.0])], [1, 2])
        array([3.])
    """
    function = "minibatch.accumulate"
    check.choice(function, "weighting", weighting, WEIGHTINGS)
    micro_batch_gradients = check.sequence(function, "micro_batch_gradients", micro_batch_gradients)
    micro_batch_sizes = check.sequence(function, "micro_batch_sizes", micro_batch_sizes)
    if len(micro_batch_gradients) == 0 or len(micro_batch_gradients) != len(micro_batch_sizes):
        raise ValueError(f"{function}: micro_batch_gradients and micro_batch_sizes must have the same length "
                         f">= 1, got {len(micro_batch_gradients)} and {len(micro_batch_sizes)}")
    sizes = [_count(function, "micro_batch_sizes[i]", n, 1) for n in micro_batch_sizes]
    weights = sizes if weighting == "by_size" else [1] * len(sizes)
    return _weighted_mean(function, list(micro_batch_gradients), weights)
