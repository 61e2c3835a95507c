"""The tracked bound of one AdamW step (reference/optimizers/adamw.py): AdamW is Adam with decoupled weight decay
and configures adam in the reference, so its bound is Adam's; ``h`` carries no ``weight_decay_mode`` (AdamW's step
has no such keyword) and ``errormodel.decayed`` then decays the parameter in the decoupled form.

Spec: docs/spec/error-budgets.md#optimizers
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from hypothesis import strategies as st

from nnspec.conformance.errormodel import Tracked
from nnspec.conformance.optimizers import adam


def bound(p: Tracked, g: Tracked, s: Mapping[str, object], h: Mapping[str, object]) -> tuple[Tracked, dict]:
    """Adam's tracked step, with the decay decoupled."""
    return adam.bound(p, g, s, h)


@functools.cache
def hyperparameters() -> st.SearchStrategy[dict]:
    """Adam's, with weight decay 0.1 first: AdamW exists for its decoupled decay."""
    return adam.hyperparameters(weight_decay=st.sampled_from([0.1, 0.0, 1e-2]))


#: Adam's probes: the same conventions (eps placement, AMSGrad's max) separate AdamW's trajectories.
PROBES = adam.PROBES
