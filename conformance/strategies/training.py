"""Inputs for dropout, early stopping and the training step."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnspec.conformance.minibatch import distinct_orders_min_examples
from nnspec.conformance.strategies.arrays import float_arrays, shapes
from nnspec.conformance.strategies.layers import network_problems
from nnspec.reference import dtypes

__all__ = ["dropout_rates", "seeds", "nonzero_arrays", "non_finite_arrays", "early_stopping_curves",
           "early_stopping_rules", "training_problems", "micro_batch_sizes", "epoch_problems", "SCRIPTED_CURVES"]


@functools.cache
def dropout_rates() -> st.SearchStrategy[float]:
    """Drop probabilities strictly inside (0, 1): common rates, and any float from 0.01 to 0.99."""
    return st.one_of(st.sampled_from([0.1, 0.2, 0.5, 0.75, 0.9]), st.floats(min_value=0.01, max_value=0.99))


@functools.cache
def seeds() -> st.SearchStrategy[int]:
    """Seeds for a backend's own random number generator (every framework accepts 0 .. 2**31 - 1)."""
    return st.integers(min_value=0, max_value=2**31 - 2)


@functools.cache
@st.composite
def nonzero_arrays(draw, fmt: dtypes.Format, shape=None) -> np.ndarray:
    """Small arrays of nonzero values, |x| in [1/8, 4] with either sign, exact in ``fmt``: a kept element is
    then never 0, so 0 in the output means dropped."""
    shape = draw(shapes()) if shape is None else shape
    magnitude = draw(float_arrays(fmt, shape, min_value=0.125, max_value=4.0))
    negative = draw(hnp.arrays(np.bool_, shape))
    return np.where(negative, -magnitude, magnitude)


@functools.cache
def non_finite_arrays() -> st.SearchStrategy[np.ndarray]:
    """Small arrays mixing +-inf, NaN and a few finite values (exact in every dtype)."""
    return hnp.arrays(np.float64, shapes(max_dims=2), elements=st.sampled_from([np.inf, -np.inf, np.nan, 1.5, -2.0]))


@functools.cache
@st.composite
def early_stopping_rules(draw) -> dict[str, object]:
    """Every rule of docs/spec/early-stopping.md, with min_delta and baseline on the curves' grid of quarters so
    that ties and "improved by exactly min_delta" (not an improvement) happen often."""
    return {
        "mode": draw(st.sampled_from(["min", "max"])),
        "min_delta": draw(st.sampled_from([0.0, 0.25, 0.5])),
        "patience": draw(st.integers(min_value=0, max_value=4)),
        "baseline": draw(st.one_of(st.none(), st.integers(0, 12).map(lambda k: k / 4))),
        "start_from_epoch": draw(st.integers(min_value=0, max_value=3)),
        "restore_best_weights": draw(st.booleans()),
    }


@functools.cache
def early_stopping_curves() -> st.SearchStrategy[list[float]]:
    """Scripted monitored values, 1 to 15 epochs, on a grid of quarters in [0, 3] (exact in every dtype)."""
    return st.lists(st.integers(0, 12).map(lambda k: k / 4), min_size=1, max_size=15)


@functools.cache
@st.composite
def training_problems(draw, fmt: dtypes.Format) -> dict[str, object]:
    """A network problem (``network_problems``) with a dropout mask on every hidden layer's output, and the
    hyperparameters of one SGD step.

    Masks hold 0 or 1 / (1 - p) for p in {0.2, 0.5, 0.75} (scales 1.25, 2, 4: exact in every dtype); the output
    layer has none. SGD: lr, heavy-ball or Nesterov momentum, coupled weight decay, no dampening (the first step
    of every framework's SGD then agrees, docs/spec/training.md#step).
    """
    problem = draw(network_problems(fmt))
    masks = []
    for index, (weight, _, _) in enumerate(problem["layers"]):
        if index == len(problem["layers"]) - 1 or not draw(st.booleans()):
            masks.append(None)
            continue
        scale = draw(st.sampled_from([1.25, 2.0, 4.0]))
        kept = draw(hnp.arrays(np.bool_, (problem["x"].shape[0], weight.shape[1])))
        masks.append(np.where(kept, scale, 0.0))
    momentum = draw(st.sampled_from([0.0, 0.9]))
    hyper = {"lr": draw(st.sampled_from([0.5, 0.1, 0.01])), "momentum": momentum, "dampening": 0.0,
             "weight_decay": draw(st.sampled_from([0.0, 0.01, 0.25])),
             "nesterov": momentum > 0 and draw(st.booleans())}
    return {**problem, "masks": masks, "hyper": hyper}


@functools.cache
@st.composite
def micro_batch_sizes(draw, batch: int) -> list[int]:
    """Sizes of k >= 1 consecutive micro-batches that partition a batch of ``batch`` examples."""
    cuts = draw(st.sets(st.integers(min_value=1, max_value=max(batch - 1, 1)), max_size=batch - 1))
    bounds = [0, *sorted(c for c in cuts if c < batch), batch]
    return [b - a for a, b in zip(bounds, bounds[1:])]


@functools.cache
@st.composite
def epoch_problems(draw) -> dict[str, object]:
    """An epoch's shape: enough examples that two independent shuffles coincide with probability at most the
    false-alarm rate, any batch size (also larger than the data), shuffled or not, with or without drop_last."""
    n = draw(st.integers(min_value=distinct_orders_min_examples(), max_value=40))
    return {"n_examples": n, "batch_size": draw(st.integers(min_value=1, max_value=n + 2)),
            "shuffle": draw(st.booleans()), "drop_last": draw(st.booleans()), "seed": draw(seeds())}


#: Scripted curves, one per rule of docs/spec/early-stopping.md, with the outcome worked out by hand:
#: name -> (monitored values, rules, epoch after which training stops (None: every epoch ran), restored epoch).
SCRIPTED_CURVES = {
    # epochs 2, 3, 4 do not improve on 0.9: the third of them exhausts patience 3
    "patience": ([1.0, 0.9, 0.95, 0.95, 0.95, 0.8], {"patience": 3, "restore_best_weights": True}, 4, 1),
    # 0.75 is not below 1.0 - 0.25 (strict), so epoch 1 is not an improvement
    "min_delta": ([1.0, 0.75, 0.5], {"min_delta": 0.25, "patience": 1, "restore_best_weights": True}, 1, 0),
    # the best epoch 2 lies inside the last `patience` epochs: no stop, and still epoch 2 is restored
    "runs_out": ([3.0, 2.0, 1.0, 1.5], {"patience": 2, "restore_best_weights": True}, None, 2),
    # improving but never below the baseline 0.5: patience 2 runs out at epoch 1
    "baseline": ([0.9, 0.8, 0.7, 0.6], {"patience": 2, "baseline": 0.5, "restore_best_weights": True}, 1, 1),
    # epoch 0 is not counted (nor can it be the best): epoch 1 is the first best, epochs 2 and 3 exhaust patience
    "start_from_epoch": ([0.1, 1.0, 1.0, 1.0, 1.0], {"patience": 2, "start_from_epoch": 1,
                                                      "restore_best_weights": True}, 3, 1),
    # larger is better
    "max_mode": ([0.5, 0.75, 0.75, 0.5], {"mode": "max", "patience": 2, "restore_best_weights": True}, 3, 1),
    # without restore_best_weights the model keeps the last epoch's weights
    "no_restore": ([1.0, 0.5, 0.75, 0.75], {"patience": 2}, 3, 3),
}
