"""Activations of the reference, one module each: identity, sigmoid, tanh, relu, leaky_relu, softplus, gelu
(exact and tanh approximation), and the rowwise softmax and log_softmax.

Spec: docs/spec/activations.md. Import the module you need: ``from nnspec.reference.activations import relu``.
"""
