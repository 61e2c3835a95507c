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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = ["Backend", "Capabilities", "EarlyStoppingResult", "KnownIssue", "NetworkResult", "UnsupportedError"]


class UnsupportedError(NotImplementedError):
    """Raised by a backend for a request outside what it declares (the suite reports it as unsupported)."""


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
            ``"early_stopping"``, ``"training_step"``, ``"epoch_batches"``.
        optimizers: optimizer name (a module of ``nnspec.reference.optimizers``) -> the convention keyword
            arguments of the reference that the framework's implementation follows, e.g.
            ``{"adam": {"eps_placement": "outside_sqrt", "amsgrad_max_of": "raw_v"}}``
            (``nnspec.reference.optimizers.profiles.conventions("pytorch", "adam")``).
    """

    primitives: frozenset[str]
    dtypes: tuple[str, ...]
    devices: tuple[str, ...]
    conventions: Mapping[str, Mapping[str, object]] = field(default_factory=lambda: MappingProxyType({}))
    features: frozenset[str] = frozenset()
    optimizers: Mapping[str, Mapping[str, object]] = field(default_factory=lambda: MappingProxyType({}))


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
            each input gradient (vjp): the inputs for which the bug shows. For a vjp, ``arrays`` also holds
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

    def __init__(self, device: str = "cpu", **options: str) -> None:
        self.device = device
        self.options = dict(options)

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

    def early_stopping(self, losses: Sequence[float], rules: Mapping[str, object]) -> EarlyStoppingResult:
        """Run the framework's own early-stopping logic on a scripted sequence of monitored values, one per
        epoch (``rules``: monitor mode, min_delta, patience, baseline, start_from_epoch, restore_best_weights)."""
        raise UnsupportedError(f"{self.name}: early_stopping is not implemented")

    def epoch_batches(self, n_examples: int, batch_size: int, shuffle: bool, drop_last: bool,
                      seed: int) -> list[np.ndarray]:
        """The index batches of one epoch from the framework's own data loader (feature ``"epoch_batches"``)."""
        raise UnsupportedError(f"{self.name}: epoch_batches is not implemented")

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
