"""The course's toy problem, "will I pass this class?", as a small deterministic data generator.

Each student has two features, the number of lectures attended (0 to 12) and the hours spent on the final
project (0 to 12); whether the student passes is drawn from a known logistic model, so the labels are noisy
and a classifier can overfit a small training set. Spec: docs/tutorial-pass-the-class.md#data
"""

from __future__ import annotations

import numbers

import numpy as np

from nnspec.reference import _validation as check
from nnspec.reference.activations import sigmoid

__all__ = ["LECTURES", "HOURS", "pass_probability", "pass_the_class"]

#: The course has 12 lectures; a final project rarely takes more than 12 hours.
LECTURES, HOURS = 12, 12.0

# The true model: logit = LECTURE_WEIGHT * (lectures - 6) + HOUR_WEIGHT * (hours - 6) + INTERACTION * (...)(...)
LECTURE_WEIGHT, HOUR_WEIGHT, INTERACTION = 0.55, 0.45, 0.08


def pass_probability(x: np.ndarray) -> np.ndarray:
    """The true probability of passing for features x = [[lectures, hours], ...].

    Spec: docs/spec/training.md#pass-the-class-data

    Math:
        logit = 0.55 * (lectures - 6) + 0.45 * (hours - 6) + 0.08 * (lectures - 6) * (hours - 6)
        probability = sigmoid(logit)

    The interaction term makes the boundary curved: a perceptron (a linear boundary) cannot fit it exactly.

    Example:
        >>> pass_probability(np.array([[6.0, 6.0]]))
        array([0.5])
    """
    x = check.float_array("datasets.pass_probability", "x", x)
    check.check_shape("datasets.pass_probability", "x", x, (None, 2))
    lectures, hours = x[:, 0] - 6.0, x[:, 1] - 6.0
    return sigmoid.forward(LECTURE_WEIGHT * lectures + HOUR_WEIGHT * hours + INTERACTION * lectures * hours)


def pass_the_class(n_students: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_students`` students: features and pass (1.0) / fail (0.0) labels.

    Spec: docs/spec/training.md#pass-the-class-data

    Math:
        lectures = rng.integers(0, 13, n)                 uniform over 0 .. 12, drawn first
        hours = round(rng.uniform(0, 12, n), 1)           to a tenth of an hour, drawn second
        passed = rng.random(n) < pass_probability([lectures, hours])     drawn third

    Returns:
        ``(x, y)``: x of shape (n, 2) [lectures, hours] and y of shape (n, 1), float64; the same rng state
        gives the same students.

    Raises:
        TypeError: if rng is not a numpy Generator. ValueError: if n_students is not an int in [1, 2**31).

    Example:
        >>> x, y = pass_the_class(3, np.random.default_rng(0))
        >>> x.shape, y.shape, bool(np.all((y == 0) | (y == 1)))
        ((3, 2), (3, 1), True)
    """
    function = "datasets.pass_the_class"
    if isinstance(n_students, bool) or not isinstance(n_students, numbers.Integral) or not 1 <= n_students < 2**31:
        raise ValueError(f"{function}: n_students must be an int in [1, 2**31), got {n_students!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{function}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    lectures = rng.integers(0, LECTURES + 1, n_students).astype(np.float64)
    hours = np.round(rng.uniform(0.0, HOURS, n_students), 1)
    x = np.stack([lectures, hours], axis=1)
    passed = rng.random(n_students) < pass_probability(x)
    return x, passed.astype(np.float64)[:, None]
