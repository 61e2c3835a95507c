"""Hyperparameter values several optimizers draw from, each chosen to exercise one term of the update
(Hypothesis shrinks towards the first). Each optimizer's own strategy is in its room,
``conformance/optimizers/<name>.py``.

Spec: docs/spec/optimizers.md#conformance
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["LEARNING_RATES", "WEIGHT_DECAYS", "EPSILONS", "BETAS"]

#: lr 0.5 makes a wrong step size visible at once; 1e-3 is the common default
LEARNING_RATES = st.sampled_from([0.1, 1e-3, 0.5])
#: 0 (no decay), and decays where coupled, decoupled and "not times lr" differ
WEIGHT_DECAYS = st.sampled_from([0.0, 0.1, 1e-2])
#: eps 1e-3 and 0.1 dominate sqrt(v) for tiny gradients, where the eps placements differ
EPSILONS = st.sampled_from([1e-8, 1e-3, 0.1])
#: beta1 = 0 (no momentum at all) and beta2 = 0.9 as well as the defaults
BETAS = st.tuples(st.sampled_from([0.9, 0.5, 0.0]), st.sampled_from([0.999, 0.9]))
