"""PyTorch optimizers for the torch backend: torch.optim classes driven one step at a time from a given state.

(Filled in by the optimizer conformance work; see nnspec.adapters.base.Backend.optimizer_step.)
"""

from __future__ import annotations


class TorchOptimizersMixin:
    """Optimizer methods of TorchBackend. ``OPTIMIZER_CONVENTIONS`` is what capabilities() declares."""

    OPTIMIZER_CONVENTIONS: dict = {}
