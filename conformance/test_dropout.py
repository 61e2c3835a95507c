"""Dropout, through the backend's own random number generator: masks differ by framework and device, so the
tests check the law, not the bits. Statistical checks fail a correct backend with probability at most
errormodel.FALSE_ALARM_PER_CHECK each (docs/spec/error-budgets.md#statistical-checks).

Spec: docs/spec/dropout.md
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.conformance import training_checks
from nnspec.conformance.strategies.training import dropout_rates, non_finite_arrays, nonzero_arrays, seeds

SPEC = "docs/spec/dropout.md"


def _values(checker, x, p, training, seed, grad_output=None, anchor="forward"):
    comparisons = training_checks.dropout_values(checker.backend, x, p, training, seed, checker.fmt, grad_output)
    checker.expect(comparisons, {"kind": "dropout_values", "primitive": "dropout", "arrays": {"x": x},
                                 "grad_output": grad_output, "params": {"p": p, "training": training, "seed": seed},
                                 "spec": f"{SPEC}#{anchor}"})


def _statistic(checker, statistic, p, seed, x_seed, anchor):
    comparisons = training_checks.dropout_statistic(checker.backend, statistic, p, seed, x_seed, checker.fmt)
    params = {"p": p, "seed": seed, "x_seed": x_seed,
              "x": f"statistical_input(x_seed): shape {training_checks.STATISTICAL_SHAPE}, values in [0.5, 2]"}
    checker.expect(comparisons, {"kind": f"dropout_{statistic}", "primitive": "dropout", "arrays": {},
                                 "params": params, "spec": f"{SPEC}#{anchor}"})


def _stream(checker, statistic, p, seed, x_seed, anchor="stream", source="dropout_stream"):
    n_calls = training_checks.STREAM_CALLS
    comparisons = training_checks.dropout_stream_statistic(checker.backend, statistic, p, seed, x_seed, checker.fmt,
                                                           n_calls, source)
    params = {"p": p, "seed": seed, "x_seed": x_seed, "n_calls": n_calls, "source": source,
              "x": f"statistical_input(x_seed): shape {training_checks.STATISTICAL_SHAPE}, values in [0.5, 2]"}
    checker.expect(comparisons, {"kind": f"dropout_stream_{statistic}", "primitive": "dropout", "arrays": {},
                                 "params": params, "spec": f"{SPEC}#{anchor}"})


@given(data=st.data(), p=dropout_rates(), seed=seeds())
def test_dropout_kept_values_are_scaled_and_dropped_values_are_zero(checker, data, p, seed):
    checker.require("dropout", "kept x/(1-p), dropped 0", feature="dropout")
    _values(checker, data.draw(nonzero_arrays(checker.fmt), label="x"), p, True, seed)


@given(data=st.data(), p=dropout_rates(), seed=seeds())
def test_dropout_backward_uses_the_forward_mask_and_scale(checker, data, p, seed):
    checker.require("dropout", "backward: same mask and scale", feature="dropout")
    x = data.draw(nonzero_arrays(checker.fmt), label="x")
    g = data.draw(nonzero_arrays(checker.fmt, x.shape), label="grad_output")
    _values(checker, x, p, True, seed, g, anchor="backward")


@given(data=st.data(), p=st.one_of(st.just(1.0), dropout_rates()), seed=seeds())
def test_dropout_in_eval_mode_is_the_identity(checker, data, p, seed):
    checker.require("dropout", "eval mode is the identity", feature="dropout")
    x = data.draw(st.one_of(nonzero_arrays(checker.fmt), non_finite_arrays()), label="x")
    _values(checker, x, p, False, seed, np.ones(x.shape), anchor="train-and-eval")


@given(data=st.data(), seed=seeds())
def test_dropout_with_p_zero_is_the_identity(checker, data, seed):
    checker.require("dropout", "p = 0 is the identity", feature="dropout")
    x = data.draw(st.one_of(nonzero_arrays(checker.fmt), non_finite_arrays()), label="x")
    _values(checker, x, 0.0, True, seed, np.ones(x.shape), anchor="edge-cases")


@given(data=st.data(), seed=seeds())
def test_dropout_with_p_one_gives_zeros(checker, data, seed):
    checker.require("dropout", "p = 1 gives zeros", feature="dropout")
    x = data.draw(nonzero_arrays(checker.fmt), label="x")
    _values(checker, x, 1.0, True, seed, np.ones(x.shape), anchor="edge-cases")


@given(data=st.data(), p=st.sampled_from([1.0, 0.5]), seed=seeds())
def test_dropout_non_finite_inputs_follow_the_declared_convention(checker, data, p, seed):
    """Dropped inf and NaN become 0 (the spec) or NaN (the "x_times_zero" variant, if declared)."""
    checker.require("dropout", "inf and NaN inputs", feature="dropout")
    _values(checker, data.draw(non_finite_arrays(), label="x"), p, True, seed, anchor="dropped-values")


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_keep_rate_is_binomial(checker, p, seed, x_seed):
    checker.require("dropout", "keep rate", feature="dropout")
    _statistic(checker, "keep_rate", p, seed, x_seed, "statistics")


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_preserves_the_mean(checker, p, seed, x_seed):
    checker.require("dropout", "mean preserved", feature="dropout")
    _statistic(checker, "mean", p, seed, x_seed, "statistics")


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_elements_are_independent(checker, p, seed, x_seed):
    checker.require("dropout", "independent elements", feature="dropout")
    _statistic(checker, "independent_elements", p, seed, x_seed, "statistics")


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_calls_are_independent(checker, p, seed, x_seed):
    checker.require("dropout", "independent calls", feature="dropout")
    _statistic(checker, "independent_calls", p, seed, x_seed, "statistics")


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_same_seed_gives_the_same_mask(checker, p, seed, x_seed):
    checker.require("dropout", "same seed, same mask", feature="dropout")
    _statistic(checker, "same_seed", p, seed, x_seed, "seeds")


# --- one layer, many calls: the framework's own random stream, as a training loop uses it ----------------------
# Per example, each statistical test below is one check failing a correct backend with probability at most
# errormodel.FALSE_ALARM_PER_CHECK (1e-6): its counts (4 keep rates, or 6 pairs of calls) are judged as one family
# (dropout.binomial_in_family, Bonferroni). The values and same-seed tests are exact: no false alarm.


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_stream_outputs_are_kept_or_dropped_values(checker, p, seed, x_seed):
    checker.require("dropout", "one layer, many calls: values", feature="dropout_stream")
    _stream(checker, "values", p, seed, x_seed)


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_stream_keep_rate_is_binomial_in_every_call(checker, p, seed, x_seed):
    checker.require("dropout", "one layer, many calls: keep rate", feature="dropout_stream")
    _stream(checker, "keep_rate", p, seed, x_seed)


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_stream_calls_are_independent(checker, p, seed, x_seed):
    """Calls of ONE layer seeded once draw independent masks: a mask repeated across calls fails."""
    checker.require("dropout", "one layer, many calls: independent", feature="dropout_stream")
    _stream(checker, "independent_calls", p, seed, x_seed)


@given(p=dropout_rates(), x_seed=seeds())
def test_dropout_stream_unseeded_calls_are_independent(checker, p, x_seed):
    """The same, for a layer the user never seeds (Keras ``Dropout(rate)``, torch without manual_seed)."""
    checker.require("dropout", "one unseeded layer, many calls: independent", feature="dropout_stream_unseeded")
    _stream(checker, "independent_calls", p, None, x_seed)


@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_stream_same_seed_gives_the_same_sequence(checker, p, seed, x_seed):
    checker.require("dropout", "one layer, many calls: same seed, same sequence", feature="dropout_stream")
    _stream(checker, "same_seed", p, seed, x_seed, anchor="seeds")


# --- one model, many training steps: the training loop draws a fresh mask at every step ------------------------
# The independence statistic on the dropout layer's output at each of 4 steps of the framework's own training loop
# (Backend.dropout_training_stream): one check per example, false-alarm rate errormodel.FALSE_ALARM_PER_CHECK. A fifth
# of the profile's examples: each runs a whole training loop, and a reused mask fails at once.
_TRAINING_STEPS = settings(max_examples=max(2, settings.default.max_examples // 5))


@_TRAINING_STEPS
@given(p=dropout_rates(), seed=seeds(), x_seed=seeds())
def test_dropout_training_steps_draw_fresh_masks(checker, p, seed, x_seed):
    """Each training step of one model draws a new mask: a loop that reuses the first step's mask (a seed captured
    when the step was compiled, a generator never advanced) fails."""
    checker.require("dropout", "training steps: fresh masks", feature="dropout_training_stream")
    _stream(checker, "independent_calls", p, seed, x_seed, "training-stream", "dropout_training_stream")
