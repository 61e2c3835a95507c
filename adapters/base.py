"""The adapter protocol: what a framework implements so that the conformance suite can judge it.

A backend receives numpy arrays (float64 arrays whose values are exactly representable in the dtype under test,
and integer arrays for class labels), converts them to its own tensors of that dtype on its device, runs its
OWN implementation, and returns numpy arrays. It does no math of its own beyond layout translation (for example
PyTorch's (out, in) weight layout).

What a backend can do is declared in :class:`Capabilities`; the suite reports everything else as *unsupported*
(neither pass nor fail). A declared capability that raises or returns a wrong value is a *failure*.

Spec: docs/adapters.md#protocol
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from nnspec.reference import catalogue

__all__ = ["Backend", "Capabilities", "EarlyStoppingResult", "KnownIssue", "NetworkResult", "OptimizerDeclaration",
           "UnsupportedError", "PRECISION_FACTS", "COEFFICIENT_GROUPS", "FLOAT32_HYPERPARAMETERS", "MOMENT_UPDATES"]

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


class UnsupportedError(NotImplementedError):
    """Raised by a backend for a request outside what it declares (the suite reports it as unsupported)."""


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


class Backend(abc.ABC):
    """Base class of every backend. Subclasses set ``name`` and implement the abstract methods.

    A backend is constructed with a device name and optional string options (``--backend-option KEY=VALUE``
    on the command line), e.g. ``TorchBackend(device="cuda", tf32="1")``.
    """

    name: str = "unnamed"
    #: Findings excused in this backend's runs (see :class:`KnownIssue`); kept in a per-backend module.
    known_issues: tuple[KnownIssue, ...] = ()

    #: The options this backend takes, name -> one-line description; None: any (checked by the backend itself).
    #: Options arrive as strings from the command line or a case file: the built-in backends name theirs, so a
    #: misspelt or hostile option is a clear error, never a silent default or a crash.
    option_names: Mapping[str, str] | None = None

    def __init__(self, device: str = "cpu", **options: str) -> None:
        if not isinstance(device, str) or not device:
            raise ValueError(f"{self.name}: device must be a non-empty string, got {device!r}")
        if self.option_names is not None:
            unknown = sorted(set(options) - set(self.option_names))
            if unknown:
                known = "; ".join(f"{k}: {v}" for k, v in self.option_names.items()) or "none"
                raise ValueError(f"{self.name}: unknown option(s) {', '.join(unknown)} (options: {known})")
        self.device = device
        self.options = dict(options)

    def int_option(self, name: str, default: int, minimum: int, maximum: int) -> int:
        """The option ``name`` as an integer in [minimum, maximum] (``default`` when absent)."""
        text = self.options.get(name)
        if text is None:
            return default
        try:
            value = int(str(text), 10)
        except ValueError:
            raise ValueError(f"{self.name}: option {name} must be an integer, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"{self.name}: option {name} must be in [{minimum}, {maximum}], got {value}")
        return value

    def choice_option(self, name: str, default: str, choices: Sequence[str]) -> str:
        """The option ``name``, one of ``choices`` (``default`` when absent)."""
        value = self.options.get(name, default)
        if value not in choices:
            raise ValueError(f"{self.name}: option {name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What this backend implements (see :class:`Capabilities`)."""

    @abc.abstractmethod
    def environment(self) -> dict[str, object]:
        """Facts for the report: framework and version, device name, numerics flags (TF32, determinism...)."""

    @abc.abstractmethod
    def forward(self, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
                dtype: str) -> np.ndarray:
        """Run the framework's own implementation of ``primitive`` on ``arrays`` in ``dtype``.

        ``params`` holds the catalogue entry's fixed keyword arguments (e.g. ``approximate="tanh"``) and the
        test's (e.g. ``reduction``, ``negative_slope``, ``axis``), with the reference's argument names.
        """

    @abc.abstractmethod
    def vjp(self, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
            grad_output: np.ndarray, dtype: str) -> dict[str, np.ndarray]:
        """The framework's own autodiff: gradients of <output, grad_output> for each differentiable input."""

    def network(self, layers: Sequence[object], x: np.ndarray, target: np.ndarray, loss: str,
                loss_params: Mapping[str, object], dtype: str) -> NetworkResult:
        """Loss and parameter gradients of a sequential network built from the framework's own layer objects.

        ``layers`` are ``nnspec.reference.network.Layer`` values (weights in the (in, out) layout).
        """
        raise UnsupportedError(f"{self.name}: network is not implemented")

    # --- optimizers (docs/spec/optimizers.md) ---------------------------------------------------------------------

    def optimizer_step(self, optimizer: str, hyper: Mapping[str, object], param: np.ndarray, grad: np.ndarray,
                       state: Mapping[str, object] | None, dtype: str) -> tuple[np.ndarray, dict[str, object]]:
        """One step of the framework's own optimizer class on one parameter tensor.

        ``state`` uses the field names of the reference's State (``nnspec.reference.optimizers.<name>``); the
        adapter loads it into the framework's optimizer before the step (None: a freshly initialised optimizer)
        and returns the parameter and the state after the step, with the same names. ``hyper`` holds the
        reference's hyperparameter names (lr, betas, eps, weight_decay, momentum, ...).
        """
        raise UnsupportedError(f"{self.name}: optimizer_step is not implemented")

    def optimizer_trajectory(self, optimizer: str, hyper: Mapping[str, object], param: np.ndarray,
                             grads: Sequence[np.ndarray], dtype: str) -> list[tuple[np.ndarray, dict[str, object]]]:
        """Free-running: a fresh optimizer takes one step per gradient; the parameter and state after each."""
        raise UnsupportedError(f"{self.name}: optimizer_trajectory is not implemented")

    # --- dropout, early stopping, training (docs/spec/dropout.md, docs/spec/early-stopping.md) --------------------

    def dropout(self, x: np.ndarray, p: float, training: bool, seed: int, dtype: str,
                grad_output: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The framework's own dropout on ``x`` (seeded with ``seed`` through its own RNG), and, when
        ``grad_output`` is given, the gradient with respect to ``x`` through that same call (same mask)."""
        raise UnsupportedError(f"{self.name}: dropout is not implemented")

    def dropout_stream(self, x: np.ndarray, p: float, n_calls: int, seed: int | None,
                       dtype: str) -> list[np.ndarray]:
        """The outputs of ONE dropout layer object (or one functional call site with the framework's own key or
        generator handling, as its users write it) called ``n_calls`` times on ``x`` in training mode, in order
        (feature ``"dropout_stream"``; docs/spec/dropout.md#stream).

        Seeding happens once, before the first call, as a user seeds (``torch.manual_seed(seed)``, a layer's
        ``seed=seed``, ``jax.random.key(seed)``), and never between calls: the calls draw their masks from the
        framework's own stream, as the steps of a training loop do. ``seed=None`` means "not seeded" (declare
        the feature ``"dropout_stream_unseeded"`` if the framework has such a stream; a framework whose
        dropout needs an explicit key, like JAX, does not)."""
        raise UnsupportedError(f"{self.name}: dropout_stream is not implemented")

    def dropout_training_stream(self, x: np.ndarray, p: float, n_steps: int, seed: int | None,
                                dtype: str) -> list[np.ndarray]:
        """The framework's own training loop, as its users write it, on ONE model: a dropout layer of rate ``p``
        followed by a dense layer (weights the identity, bias 0), trained for ``n_steps`` steps on the batch
        ``x`` (target 0, mean squared error, SGD with learning rate 0, so the weights stay put); seeded once
        before the first step. Returns the dropout layer's output at each step (feature
        ``"dropout_training_stream"``; docs/spec/dropout.md#training-stream)."""
        raise UnsupportedError(f"{self.name}: dropout_training_stream is not implemented")

    def early_stopping(self, losses: Sequence[float], rules: Mapping[str, object]) -> EarlyStoppingResult:
        """Run the framework's own early-stopping logic on a scripted sequence of monitored values, one per
        epoch (``rules``: monitor mode, min_delta, patience, baseline, start_from_epoch, restore_best_weights)."""
        raise UnsupportedError(f"{self.name}: early_stopping is not implemented")

    def lr_schedule(self, schedule: str, hyper: Mapping[str, object], steps: int, dtype: str) -> np.ndarray:
        """The learning rate the framework's own optimizer APPLIES at each of its first ``steps`` updates under the
        framework's own scheduler (features ``"schedule_<schedule>"``; docs/spec/schedules.md#measuring): plain
        SGD on one parameter of ``dtype`` set to 0 before each update, gradient 1, so that the rate of update k is
        minus the parameter after it. ``hyper`` holds the reference's names (``nnspec.reference.schedules``)."""
        raise UnsupportedError(f"{self.name}: lr_schedule is not implemented")

    def epoch_batches(self, n_examples: int, batch_size: int, shuffle: bool, drop_last: bool,
                      seed: int) -> list[np.ndarray]:
        """The index batches of one epoch from the framework's own data loader (feature ``"epoch_batches"``)."""
        raise UnsupportedError(f"{self.name}: epoch_batches is not implemented")

    def batch_norm_running_stats(self, batches: Sequence[np.ndarray], momentum: float, x: np.ndarray, weight,
                                 bias, eps: float, dtype: str) -> tuple[np.ndarray, ...]:
        """(running_mean, running_var, y): one BatchNorm trained on each batch, then applied to x in inference mode
        (feature ``"batch_norm_running_stats"``; docs/adapters.md#batch-norm-running-stats)."""
        raise UnsupportedError(f"{self.name}: batch_norm_running_stats is not implemented")

    def clip_gradients(self, mode: str, grads: Sequence[np.ndarray], hyper: Mapping[str, object],
                       dtype: str) -> list[np.ndarray]:
        """Your clipping of ``grads``, as your optimizer gets them (docs/spec/gradient-clipping.md#modes)."""
        raise UnsupportedError(f"{self.name}: clip_gradients is not implemented")

    def initialize(self, initializer: str, shape: tuple[int, int], hyper: Mapping[str, object], seed: int,
                   dtype: str) -> np.ndarray:
        """The framework's own initializer ``initializer`` (``nnspec.reference.initializers.INITIALIZERS``, with
        the reference's hyperparameter names) drawing an (in, out) weight matrix of ``dtype``, seeded with
        ``seed`` through the framework's own RNG (feature ``"initializers"``; docs/spec/initializers.md#laws)."""
        raise UnsupportedError(f"{self.name}: initialize is not implemented")

    def dense_default_init(self, fan_in: int, fan_out: int, seed: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
        """The weight, in the (in, out) layout, and the bias of a freshly built dense layer of the framework with
        its default initializers, seeded with ``seed`` (feature ``"dense_default_init"``;
        docs/spec/initializers.md#dense-default)."""
        raise UnsupportedError(f"{self.name}: dense_default_init is not implemented")

    def training_step(self, layers: Sequence[object], x: np.ndarray, target: np.ndarray, loss: str,
                      loss_params: Mapping[str, object], optimizer: str, hyper: Mapping[str, object],
                      dtype: str, dropout_masks: Sequence[np.ndarray | None] | None = None
                      ) -> tuple[float, list[tuple[np.ndarray, np.ndarray | None]]]:
        """forward -> loss -> backward -> one optimizer step, with the framework's real modules.

        Returns the loss before the step and the (weight (in, out), bias) of every layer after it. When
        ``dropout_masks`` is given, layer l's activation output is multiplied by ``dropout_masks[l]`` (already
        scaled by 1/(1-p)), so that the random op is fixed and the step is deterministic.
        """
        raise UnsupportedError(f"{self.name}: training_step is not implemented")
