"""The adapter protocol: what a framework implements so that the conformance suite can judge it.

A backend receives numpy arrays (float64 arrays whose values are exactly representable in the dtype under test,
and integer arrays for class labels), converts them to its own tensors of that dtype on its device, runs its
OWN implementation, and returns numpy arrays. It does no math of its own beyond layout translation (for example
PyTorch's (out, in) weight layout).

What a backend can do is declared in :class:`Capabilities`; the suite reports everything else as *unsupported*
(neither pass nor fail). A declared capability that raises or returns a wrong value is a *failure*.

The protocol's data (the declarations and the results some methods return) lives in ``declarations.py`` and is
re-exported here under the same names: adapters write ``from nnspec.adapters.base import Capabilities``.

Spec: docs/adapters.md#protocol
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.adapters.declarations import (
    COEFFICIENT_GROUPS,
    FLOAT32_HYPERPARAMETERS,
    MOMENT_UPDATES,
    PRECISION_FACTS,
    Capabilities,
    EarlyStoppingResult,
    KnownIssue,
    NetworkResult,
    OptimizerDeclaration,
)

__all__ = ["Backend", "Capabilities", "EarlyStoppingResult", "KnownIssue", "NetworkResult", "OptimizerDeclaration",
           "UnsupportedError", "PRECISION_FACTS", "COEFFICIENT_GROUPS", "FLOAT32_HYPERPARAMETERS", "MOMENT_UPDATES"]


class UnsupportedError(NotImplementedError):
    """Raised by a backend for a request outside what it declares (the suite reports it as unsupported)."""


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
