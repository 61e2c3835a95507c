"""The catalogue: every primitive of the reference, with its spec anchor and its calling convention.

This is the one explicit list that the conformance suite, the adapters and the docs are driven from. An entry
names the reference module, the array arguments of its ``forward`` (in order), which of them are
differentiable, the fixed keyword arguments that select a named variant, and the spec section.

The perceptron (``nnspec.reference.perceptron``) is not an entry: it is a dense layer with one output followed
by an activation, and the suite checks it through those two entries.

Spec: docs/spec/README.md#catalogue
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType

from nnspec.reference import dense
from nnspec.reference.activations import (
    gelu,
    identity,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from nnspec.reference.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    mean_squared_error,
    softmax_cross_entropy,
)

__all__ = ["Primitive", "PRIMITIVES", "get", "names"]


@dataclass(frozen=True)
class Primitive:
    """One entry of the catalogue.

    Attributes:
        name: the name adapters and reports use, e.g. ``"gelu_tanh"``.
        module: the reference module with ``forward`` and ``backward``.
        kind: ``"elementwise"``, ``"rowwise"`` (softmax family, along ``axis``), ``"loss"`` or ``"layer"``.
        inputs: names of the array arguments of ``forward``, in order.
        differentiable: the inputs a gradient is taken with respect to.
        params: keyword arguments fixed by this entry (a named variant), e.g. ``{"approximate": "tanh"}``.
        spec: the spec section, ``docs/spec/<page>.md#<anchor>``.
    """

    name: str
    module: ModuleType
    kind: str
    inputs: tuple[str, ...]
    differentiable: tuple[str, ...]
    spec: str
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


def _entry(name, module, kind, inputs, differentiable, spec, **params) -> Primitive:
    return Primitive(name, module, kind, tuple(inputs), tuple(differentiable), spec, MappingProxyType(params))


_ACT = "docs/spec/activations.md"
_LOSS = "docs/spec/losses.md"
_DENSE = "docs/spec/perceptron-and-dense.md"

PRIMITIVES: tuple[Primitive, ...] = (
    _entry("identity", identity, "elementwise", ["x"], ["x"], f"{_ACT}#identity"),
    _entry("sigmoid", sigmoid, "elementwise", ["x"], ["x"], f"{_ACT}#sigmoid"),
    _entry("tanh", tanh, "elementwise", ["x"], ["x"], f"{_ACT}#tanh"),
    _entry("relu", relu, "elementwise", ["x"], ["x"], f"{_ACT}#relu"),
    _entry("leaky_relu", leaky_relu, "elementwise", ["x"], ["x"], f"{_ACT}#leaky-relu"),
    _entry("softplus", softplus, "elementwise", ["x"], ["x"], f"{_ACT}#softplus"),
    _entry("gelu", gelu, "elementwise", ["x"], ["x"], f"{_ACT}#gelu", approximate="none"),
    _entry("gelu_tanh", gelu, "elementwise", ["x"], ["x"], f"{_ACT}#gelu-tanh", approximate="tanh"),
    _entry("softmax", softmax, "rowwise", ["x"], ["x"], f"{_ACT}#softmax"),
    _entry("log_softmax", log_softmax, "rowwise", ["x"], ["x"], f"{_ACT}#log-softmax"),
    _entry("mean_squared_error", mean_squared_error, "loss", ["prediction", "target"], ["prediction"],
           f"{_LOSS}#mean-squared-error"),
    _entry("binary_cross_entropy", binary_cross_entropy, "loss", ["probability", "target"], ["probability"],
           f"{_LOSS}#binary-cross-entropy"),
    _entry("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits, "loss", ["logits", "target"],
           ["logits"], f"{_LOSS}#binary-cross-entropy-with-logits"),
    _entry("softmax_cross_entropy", softmax_cross_entropy, "loss", ["logits", "target"], ["logits"],
           f"{_LOSS}#softmax-cross-entropy-labels"),
    _entry("softmax_cross_entropy_probs", softmax_cross_entropy, "loss", ["logits", "target"], ["logits"],
           f"{_LOSS}#softmax-cross-entropy-probabilities"),
    _entry("dense", dense, "layer", ["x", "weight", "bias"], ["x", "weight", "bias"], f"{_DENSE}#dense"),
)

_BY_NAME = {primitive.name: primitive for primitive in PRIMITIVES}


def names() -> frozenset[str]:
    """The name of every primitive.

    Spec: docs/spec/README.md#catalogue

    Example:
        >>> "relu" in names()
        True
    """
    return frozenset(_BY_NAME)


def get(name: str) -> Primitive:
    """Return the catalogue entry called ``name``.

    Spec: docs/spec/README.md#catalogue

    Raises:
        TypeError: if name is not a str. ValueError: if no primitive has that name.

    Example:
        >>> get("relu").spec
        'docs/spec/activations.md#relu'
    """
    if not isinstance(name, str):
        raise TypeError(f"catalogue.get: name must be a str, got {type(name).__name__}")
    if name not in _BY_NAME:
        raise ValueError(f"catalogue.get: name must be one of {', '.join(sorted(_BY_NAME))}, got {name!r}")
    return _BY_NAME[name]
