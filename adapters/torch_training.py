"""Dropout, early stopping and the training step for the torch backend.

(Filled in by the dropout / early-stopping / training work; see nnspec.adapters.base.Backend.)
"""

from __future__ import annotations


class TorchTrainingMixin:
    """Training methods of TorchBackend. ``TRAINING_FEATURES`` is what capabilities() declares."""

    TRAINING_FEATURES: frozenset = frozenset()
