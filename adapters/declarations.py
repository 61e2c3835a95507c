"""The data of the adapter protocol: what a backend declares (:class:`Capabilities`, :class:`OptimizerDeclaration`,
:class:`KnownIssue`) and the results some protocol methods return (:class:`NetworkResult`,
:class:`EarlyStoppingResult`). The protocol itself (:class:`~nnspec.adapters.base.Backend`) is in
``nnspec.adapters.base``, which re-exports every name here: adapters import them from there.

Spec: docs/adapters.md#capabilities
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from nnspec.reference import catalogue

__all__ = ["Capabilities", "EarlyStoppingResult", "KnownIssue", "NetworkResult", "OptimizerDeclaration",
           "PRECISION_FACTS", "COEFFICIENT_GROUPS", "FLOAT32_HYPERPARAMETERS", "MOMENT_UPDATES"]

#: The precision facts an optimizer declaration may state (docs/spec/optimizers.md#precision): how the framework
#: rounds the reference's formula, never a different formula.
PRECISION_FACTS = ("scalar_dtype", "dtype_arithmetic", "moment_update", "float32_hyperparameters")
#: The coefficient groups that ``dtype_arithmetic`` and ``float32_hyperparameters`` name, each with the
#: hyperparameter it is computed from: a group applies to the optimizers that have that hyperparameter.
COEFFICIENT_GROUPS = MappingProxyType({"bias_correction": "betas", "moment_weight": "betas",
                                       "schedule": "momentum_decay"})
#: The hyperparameters ``float32_hyperparameters`` may name (for an optimizer that has them).
FLOAT32_HYPERPARAMETERS = ("momentum", "weight_decay", "initial_accumulator_value")
#: ``moment_update``: beta * m + (1 - beta) * g, or m + (g - m) * (1 - beta); for the optimizers with ``betas``.
MOMENT_UPDATES = ("weighted_sum", "incremental")


@dataclass(frozen=True)
class OptimizerDeclaration:
    """What a backend declares for one optimizer of the catalogue (docs/adapters.md#capabilities).

    Attributes:
        conventions: the reference keyword arguments that make the reference compute what the framework
            computes: convention keywords with one of their named values (the module's ``CONVENTIONS``), and
            hyperparameters the framework fixes (Keras's NAdam: ``momentum_decay`` 1), e.g.
            ``profiles.conventions("pytorch", "adam")``.
        precision: precision facts (``PRECISION_FACTS``): how the framework rounds the same formula, e.g.
            ``{"scalar_dtype": "float32"}``.
        state_not_held: state fields the framework does not hold because its representation derives them
            (optax's NAdam: ``("mu_product",)``); they are not compared.
    """

    conventions: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    precision: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    state_not_held: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The report's form (docs/report-schema.md): conventions, precision facts and ``state_not_held`` (when
        any) as one JSON object."""
        held = {"state_not_held": self.state_not_held} if self.state_not_held else {}
        return {**self.conventions, **self.precision, **held}

    def validate(self, optimizer: str, dtypes: Collection[str]) -> None:
        """Check the declaration against the catalogue entry of ``optimizer``; ``dtypes`` are the known dtype
        names (for ``scalar_dtype``).

        Raises:
            ValueError: one line naming the optimizer and what is wrong: an unknown optimizer, convention key or
                value, precision fact or state field, or a precision fact that cannot apply to this optimizer.
        """
        if optimizer not in catalogue.optimizers():
            raise ValueError(f"unknown optimizer {optimizer!r} (the catalogue's: {', '.join(catalogue.optimizers())})")
        entry = catalogue.optimizer(optimizer)
        for key, value in self.conventions.items():
            _check_convention(entry, key, value)
        for fact, value in self.precision.items():
            _check_precision(entry, fact, value, dtypes)
        for name in self.state_not_held:
            if name not in entry.state_fields:
                raise ValueError(f"optimizer {optimizer}: state_not_held names {name!r}, not a state field "
                                 f"({', '.join(entry.state_fields)})")


def _names(values: Sequence[str]) -> str:
    return ", ".join(values) or "none"


def _check_convention(entry: catalogue.Optimizer, key: str, value: object) -> None:
    if key in entry.conventions:
        if value not in entry.conventions[key]:
            raise ValueError(f"optimizer {entry.name}: convention {key} must be one of "
                             f"{_names(entry.conventions[key])}, got {value!r}")
    elif key not in entry.hyperparameters:
        raise ValueError(f"optimizer {entry.name}: unknown convention {key!r} (conventions: "
                         f"{_names(tuple(entry.conventions))}; hyperparameters: {_names(entry.hyperparameters)})")


def _groups(entry: catalogue.Optimizer) -> tuple[str, ...]:
    """The coefficient groups an optimizer has (those computed from one of its hyperparameters)."""
    return tuple(group for group, source in COEFFICIENT_GROUPS.items() if source in entry.hyperparameters)


def _check_precision(entry: catalogue.Optimizer, fact: str, value: object, dtypes: Collection[str]) -> None:
    where = f"optimizer {entry.name}: precision fact {fact}"
    if fact not in PRECISION_FACTS:
        raise ValueError(f"optimizer {entry.name}: unknown precision fact {fact!r} (facts: {_names(PRECISION_FACTS)})")
    if fact == "scalar_dtype":
        if not entry.scalar_state:
            raise ValueError(f"{where} does not apply: {entry.name} holds no scalar state")
        if value not in dtypes:
            raise ValueError(f"{where} must be a dtype ({_names(tuple(dtypes))}), got {value!r}")
    elif fact == "moment_update":
        if "betas" not in entry.hyperparameters:
            raise ValueError(f"{where} does not apply: {entry.name} has no moments weighted by betas")
        if value not in MOMENT_UPDATES:
            raise ValueError(f"{where} must be one of {_names(MOMENT_UPDATES)}, got {value!r}")
    else:
        allowed = _groups(entry) if fact == "dtype_arithmetic" else (
            *(h for h in FLOAT32_HYPERPARAMETERS if h in entry.hyperparameters), *_groups(entry))
        if not isinstance(value, tuple) or any(item not in allowed for item in value):
            raise ValueError(f"{where} must be a tuple of {_names(allowed)} (what applies to {entry.name}), "
                             f"got {value!r}")


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares.

    Attributes:
        primitives: catalogue names (``nnspec.reference.catalogue``) the backend implements.
        dtypes: dtype names (``"float64"``, ``"float32"``, ``"float16"``, ``"bfloat16"``) it supports.
        devices: device names it can run on in this process (e.g. ``("cpu", "cuda")``).
        conventions: per primitive, the reference keyword arguments of the named spec variant the backend
            follows where the spec allows variants, e.g. ``{"softplus": {"threshold": 20.0}}``.
        features: larger capabilities beyond single primitives: ``"network"``, ``"dropout"``,
            ``"dropout_stream"`` (one layer called n times, seeded once), ``"dropout_stream_unseeded"`` (the
            same, never seeded), ``"dropout_training_stream"`` (one model's dropout over n training steps),
            ``"early_stopping"``, ``"training_step"``, ``"epoch_batches"``, ``"schedule_<name>"`` (one per
            learning-rate schedule, ``Backend.lr_schedule``), ``"gradient_clipping"``.
            The names are the catalogue's (``nnspec.reference.catalogue.FEATURES``).
        dtypes_for: per primitive, feature or optimizer, the subset of ``dtypes`` declared for it.
        optimizers: optimizer name (``nnspec.reference.catalogue.optimizers()``) -> its
            :class:`OptimizerDeclaration`: the reference's convention keywords the framework follows, its precision
            facts and the state it does not hold, e.g. ``{"adam": OptimizerDeclaration(
            profiles.conventions("pytorch", "adam"))}``. Checked when the backend loads.
    """

    primitives: frozenset[str]
    dtypes: tuple[str, ...]
    devices: tuple[str, ...]
    conventions: Mapping[str, Mapping[str, object]] = field(default_factory=lambda: MappingProxyType({}))
    features: frozenset[str] = frozenset()
    optimizers: Mapping[str, OptimizerDeclaration] = field(default_factory=lambda: MappingProxyType({}))
    #: Per primitive, feature or optimizer, the dtypes declared for it when they are fewer than ``dtypes`` (a CPU
    #: build with float16 kernels for a few ops only): ``{"softmax": ("float64", "float32")}``. Others: ``dtypes``.
    dtypes_for: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: Per primitive, the options it implements of those the catalogue lists (``catalogue.OPTIONS``), e.g.
    #: ``{"softmax_cross_entropy": frozenset({"class_weight", "spatial"})}``; an option not declared is unsupported.
    options: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))

    def declares_dtype(self, name: str, dtype: str) -> bool:
        """Whether ``dtype`` is declared for the primitive, feature or optimizer ``name``."""
        return dtype in self.dtypes and dtype in self.dtypes_for.get(name, self.dtypes)


@dataclass(frozen=True)
class KnownIssue:
    """A documented disagreement of a backend with the spec that is not a named convention: a framework bug
    found by the suite, reported upstream, and excused here so that it does not hide other failures.

    Only the elements where ``where`` is true are excused, and only for this primitive and kind; each excused
    mismatch is counted in the report under ``id``.

    Attributes:
        id: a short stable name, e.g. ``"torch-gelu-at-infinity"``.
        primitive: the catalogue name.
        kind: ``"forward"`` or ``"vjp"``.
        where: ``(arrays, params, dtype) -> bool array`` broadcastable to the checked output (forward) or to
            each input gradient (vjp): the inputs for which the bug shows. ``params`` also holds ``device``,
            the run's device, for a bug of one device's kernel. For a vjp, ``arrays`` also holds
            ``grad_output``, so a bug that needs a large upstream gradient is excused only where it has one.
        reason: one sentence: what the framework does and what the spec says.
        link: where the finding is written up (docs/findings.md#...) and the upstream issue.
    """

    id: str
    primitive: str
    kind: str
    where: Callable[[Mapping[str, np.ndarray], Mapping[str, object], str], np.ndarray]
    reason: str
    link: str


@dataclass(frozen=True)
class EarlyStoppingResult:
    """What a framework's early stopping did on a scripted run of ``epochs`` epochs.

    Attributes:
        stopped_epoch: the 0-based epoch after which training stopped, or None if it ran every epoch.
        restored_epoch: the 0-based epoch whose weights the model holds at the end (the last epoch run when
            nothing was restored).
    """

    stopped_epoch: int | None
    restored_epoch: int


@dataclass(frozen=True)
class NetworkResult:
    """A network's loss and the gradient of the loss for every parameter, in the nnspec (in, out) layout."""

    loss: float
    weight_grads: tuple[np.ndarray, ...]
    bias_grads: tuple[np.ndarray, ...]
