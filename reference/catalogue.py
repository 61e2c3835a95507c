"""The catalogue: every primitive, optimizer and training feature of the reference, each named once.

This is the one explicit list that the conformance suite, the adapters and the docs are driven from. A primitive
names the reference module, the array arguments of its ``forward`` (in order), which of them are
differentiable, the fixed keyword arguments that select a named variant, and the spec section. An optimizer
names its module and spec section; its convention vocabulary (``CONVENTIONS``), hyperparameters and state fields
are read off that module, which defines them. A feature names a backend method and its spec section.

The perceptron (``nnspec.reference.perceptron``) is not an entry: it is a dense layer with one output followed
by an activation, and the suite checks it through those two entries.

Spec: docs/spec/README.md#catalogue
"""

from __future__ import annotations

import inspect
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
    silu,
    softmax,
    softplus,
    tanh,
)
from nnspec.reference.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber,
    kl_divergence,
    mean_squared_error,
    nll_loss,
    softmax_cross_entropy,
)
from nnspec.reference.normalization import batch_norm, layer_norm
from nnspec.reference.optimizers import adadelta, adagrad, adam, adamax, adamw, lion, nadam, rmsprop, sgd

__all__ = ["Primitive", "PRIMITIVES", "get", "names", "modules", "Optimizer", "OPTIMIZERS", "optimizers", "optimizer",
           "Feature", "FEATURES", "features", "OPTIONS"]


@dataclass(frozen=True)
class Primitive:
    """One entry of the catalogue.

    Attributes:
        name: the name adapters and reports use, e.g. ``"gelu_tanh"``.
        module: the reference module with ``forward`` and ``backward``.
        kind: ``"elementwise"``, ``"rowwise"`` (softmax family, along ``axis``), ``"loss"``, ``"layer"`` or
            ``"normalization"`` (statistics along an axis: layer_norm, batch_norm).
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
_NORM = "docs/spec/normalization.md"

PRIMITIVES: tuple[Primitive, ...] = (
    _entry("identity", identity, "elementwise", ["x"], ["x"], f"{_ACT}#identity"),
    _entry("sigmoid", sigmoid, "elementwise", ["x"], ["x"], f"{_ACT}#sigmoid"),
    _entry("tanh", tanh, "elementwise", ["x"], ["x"], f"{_ACT}#tanh"),
    _entry("relu", relu, "elementwise", ["x"], ["x"], f"{_ACT}#relu"),
    _entry("leaky_relu", leaky_relu, "elementwise", ["x"], ["x"], f"{_ACT}#leaky-relu"),
    _entry("softplus", softplus, "elementwise", ["x"], ["x"], f"{_ACT}#softplus"),
    _entry("gelu", gelu, "elementwise", ["x"], ["x"], f"{_ACT}#gelu", approximate="none"),
    _entry("gelu_tanh", gelu, "elementwise", ["x"], ["x"], f"{_ACT}#gelu-tanh", approximate="tanh"),
    _entry("silu", silu, "elementwise", ["x"], ["x"], f"{_ACT}#silu"),
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
    _entry("nll_loss", nll_loss, "loss", ["log_probs", "target"], ["log_probs"], f"{_LOSS}#nll-loss"),
    _entry("kl_divergence", kl_divergence, "loss", ["log_prediction", "target"], ["log_prediction"],
           f"{_LOSS}#kl-divergence"),
    _entry("kl_divergence_probs", kl_divergence, "loss", ["prediction", "target"], ["prediction"],
           f"{_LOSS}#kl-divergence-probabilities"),
    _entry("huber", huber, "loss", ["prediction", "target"], ["prediction"], f"{_LOSS}#huber", variant="huber"),
    _entry("smooth_l1", huber, "loss", ["prediction", "target"], ["prediction"], f"{_LOSS}#smooth-l1",
           variant="smooth_l1"),
    _entry("dense", dense, "layer", ["x", "weight", "bias"], ["x", "weight", "bias"], f"{_DENSE}#dense"),
    _entry("layer_norm", layer_norm, "normalization", ["x", "weight", "bias"], ["x", "weight", "bias"],
           f"{_NORM}#layer-norm"),
    _entry("batch_norm", batch_norm, "normalization", ["x", "weight", "bias"], ["x", "weight", "bias"],
           f"{_NORM}#batch-norm"),
)

_BY_NAME = {primitive.name: primitive for primitive in PRIMITIVES}

#: Per primitive, its options that a framework may lack, each declared by a backend one by one
#: (``Capabilities.options``): a test of an option the backend does not declare is reported unsupported, never
#: passed (docs/spec/losses.md#class-weights-and-ignore-index). "class_weight": the ``weight`` argument;
#: "ignore_index": ``ignore_index``; "ignore_index_smoothed": ``ignore_index`` with label smoothing; "spatial":
#: inputs of shape (N, C, d1, ...).
OPTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "softmax_cross_entropy": ("class_weight", "ignore_index", "ignore_index_smoothed", "spatial"),
    "softmax_cross_entropy_probs": ("class_weight", "spatial"),
    "nll_loss": ("class_weight", "ignore_index", "spatial"),
    # docs/spec/losses.md#pos-weight, #binary-label-smoothing, #kl-divergence: "pos_weight" (a list, one weight per
    # entry of the last axis), Keras's binary "label_smoothing", "log_target" (the target holds log p)
    "binary_cross_entropy": ("label_smoothing",),
    "binary_cross_entropy_with_logits": ("pos_weight", "label_smoothing"),
    "kl_divergence": ("log_target",),
})


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


def modules(*kinds: str) -> Mapping[str, ModuleType]:
    """The reference module of every primitive of these kinds, by name, in catalogue order.

    A named variant of another entry's module (``gelu_tanh``, ``softmax_cross_entropy_probs``) is left out: that
    module's own entry computes it, with keyword arguments. Networks and the perceptron take their activations
    and losses from here.

    Spec: docs/spec/README.md#catalogue

    Example:
        >>> list(modules("rowwise"))
        ['softmax', 'log_softmax']
    """
    return MappingProxyType({p.name: p.module for p in PRIMITIVES
                             if p.kind in kinds and p.module.__name__.rsplit(".", 1)[-1] == p.name})


@dataclass(frozen=True)
class Optimizer:
    """One optimizer of the catalogue; everything but the name and module is read off the module.

    Attributes:
        name: the module's name, which adapters and reports use, e.g. ``"adam"``.
        module: the reference module with ``init``, ``step`` and ``State``.
        spec: the spec section, ``docs/spec/optimizers.md#<name>``.
        conventions: the module's ``CONVENTIONS``: each convention keyword and its named values.
        hyperparameters: the other keyword arguments of ``step``, in its order.
        defaults: every keyword argument of ``step`` (hyperparameters and conventions) and its default.
        state_fields: the fields of ``State`` after ``step``, in order.
        scalar_state: the state fields that are Python floats, not arrays (NAdam's ``mu_product``).
    """

    name: str
    module: ModuleType
    spec: str
    conventions: Mapping[str, tuple[str, ...]]
    hyperparameters: tuple[str, ...]
    defaults: Mapping[str, object]
    state_fields: tuple[str, ...]
    scalar_state: tuple[str, ...] = ()


def _optimizer(module: ModuleType) -> Optimizer:
    name = module.__name__.rsplit(".", 1)[-1]
    defaults = {k: v.default for k, v in inspect.signature(module.step).parameters.items() if v.kind is v.KEYWORD_ONLY}
    return Optimizer(name, module, f"docs/spec/optimizers.md#{name}", module.CONVENTIONS,
                     tuple(k for k in defaults if k not in module.CONVENTIONS), MappingProxyType(defaults),
                     module.State._fields[1:], getattr(module, "SCALAR_STATE", ()))


OPTIMIZERS: tuple[Optimizer, ...] = tuple(map(_optimizer, (sgd, adagrad, rmsprop, adadelta, adam, adamw, adamax,
                                                            nadam, lion)))

_OPTIMIZER_BY_NAME = {entry.name: entry for entry in OPTIMIZERS}


def optimizers() -> tuple[str, ...]:
    """The name of every optimizer, in catalogue order (the order of the spec's sections).

    Spec: docs/spec/optimizers.md

    Example:
        >>> optimizers()[:2]
        ('sgd', 'adagrad')
    """
    return tuple(_OPTIMIZER_BY_NAME)


def optimizer(name: str) -> Optimizer:
    """Return the optimizer called ``name``.

    Spec: docs/spec/optimizers.md

    Raises:
        TypeError: if name is not a str. ValueError: if no optimizer has that name.

    Example:
        >>> optimizer("adamw").conventions["amsgrad_max_of"]
        ('raw_v', 'v_hat')
    """
    if not isinstance(name, str):
        raise TypeError(f"catalogue.optimizer: name must be a str, got {type(name).__name__}")
    if name not in _OPTIMIZER_BY_NAME:
        raise ValueError(f"catalogue.optimizer: name must be one of {', '.join(_OPTIMIZER_BY_NAME)}, got {name!r}")
    return _OPTIMIZER_BY_NAME[name]


@dataclass(frozen=True)
class Feature:
    """A capability beyond single primitives, declared in ``Capabilities.features``.

    Attributes:
        name: the feature's name, e.g. ``"training_step"``.
        method: the backend method the suite calls for it (``nnspec.adapters.base.Backend``).
        spec: the spec section.
    """

    name: str
    method: str
    spec: str


FEATURES: tuple[Feature, ...] = (
    Feature("network", "network", "docs/spec/backpropagation.md#network"),
    Feature("dropout", "dropout", "docs/spec/dropout.md#forward"),
    Feature("dropout_stream", "dropout_stream", "docs/spec/dropout.md#stream"),
    Feature("dropout_stream_unseeded", "dropout_stream", "docs/spec/dropout.md#stream"),
    Feature("dropout_training_stream", "dropout_training_stream", "docs/spec/dropout.md#training-stream"),
    Feature("early_stopping", "early_stopping", "docs/spec/early-stopping.md#rules"),
    Feature("training_step", "training_step", "docs/spec/training.md#step"),
    Feature("epoch_batches", "epoch_batches", "docs/spec/minibatch.md#batches"),
    Feature("batch_norm_running_stats", "batch_norm_running_stats", "docs/spec/normalization.md#running-statistics"),
    Feature("schedule_step_decay", "lr_schedule", "docs/spec/schedules.md#step-decay"),
    Feature("schedule_piecewise_constant", "lr_schedule", "docs/spec/schedules.md#piecewise-constant"),
    Feature("schedule_exponential", "lr_schedule", "docs/spec/schedules.md#exponential"),
    Feature("schedule_cosine", "lr_schedule", "docs/spec/schedules.md#cosine"),
    Feature("schedule_warmup_cosine", "lr_schedule", "docs/spec/schedules.md#warmup-cosine"),
    Feature("schedule_linear", "lr_schedule", "docs/spec/schedules.md#linear"),
    Feature("schedule_onecycle", "lr_schedule", "docs/spec/schedules.md#onecycle"),
    Feature("gradient_clipping", "clip_gradients", "docs/spec/gradient-clipping.md#modes"),
    Feature("initializers", "initialize", "docs/spec/initializers.md#laws"),
    Feature("dense_default_init", "dense_default_init", "docs/spec/initializers.md#dense-default"),
)


def features() -> frozenset[str]:
    """The name of every feature.

    Spec: docs/spec/README.md#catalogue

    Example:
        >>> "training_step" in features()
        True
    """
    return frozenset(feature.name for feature in FEATURES)
