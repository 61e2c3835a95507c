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

__all__ = ["Backend", "Capabilities", "KnownIssue", "NetworkResult", "UnsupportedError"]


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
        features: larger capabilities beyond single primitives, e.g. ``"network"``.
    """

    primitives: frozenset[str]
    dtypes: tuple[str, ...]
    devices: tuple[str, ...]
    conventions: Mapping[str, Mapping[str, object]] = field(default_factory=lambda: MappingProxyType({}))
    features: frozenset[str] = frozenset()


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
            each input gradient (vjp): the inputs for which the bug shows.
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
