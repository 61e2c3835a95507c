"""Normalization layers of the reference: layer_norm (statistics over the last axis of each example) and
batch_norm in training mode (statistics over the batch axis of each channel), and batch_norm's running statistics.

Spec: docs/spec/normalization.md. Import the module you need: ``from nnspec.reference.normalization import
layer_norm``.
"""
