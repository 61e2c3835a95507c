"""The suite's wall around a backend: what it is handed, what it may return, how long it may take.

Every call the suite makes into a backend goes through :class:`GuardedBackend`, which enforces the contract of
``docs/adapters.md#contract`` whatever the adapter does:

- **Inputs are the suite's.** The backend receives read-only copies of every array; the suite keeps the
  originals, so the reference, the budgets, the failure message and the saved case all see the pristine inputs.
  After the call the copies are compared bit for bit with the originals: a backend that wrote into an input
  (``np.clip(x, ..., out=x)``, ``torch.from_numpy(x).sigmoid_()``) fails with "modified its input".
- **Outputs are numbers of the dtype under test.** Every floating-point value a backend returns for a dtype must
  be exactly representable in that dtype (NaN and infinities included): a "float16" result computed in float64
  and never rounded fails, exactly and cheaply.
- **Errors are the backend's.** An exception other than :class:`UnsupportedError` becomes a
  :class:`BackendError` naming the call, reported as outcome ``error`` (never "failed 0").
- **No call hangs the run.** Each call gets ``timeout`` seconds of wall clock (SIGALRM, main thread): past that it
  raises :class:`BackendTimeout` (outcome ``timeout``), and every later call in the same test fails at once, so
  that shrinking does not replay the hang.

Spec: docs/adapters.md#contract
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Callable, Mapping
from contextlib import contextmanager

import numpy as np

from nnspec.adapters.base import Backend, UnsupportedError
from nnspec.reference import dtypes

__all__ = ["BackendFault", "BackendError", "BackendTimeout", "InputModified", "NotInDtype", "GuardedBackend",
           "PROTOCOL", "representable"]

#: The protocol methods that receive arrays from the suite: name -> index of the ``dtype`` argument in the
#: call's positional arguments (None: the method takes no dtype).
PROTOCOL: dict[str, int | None] = {
    "forward": 3, "vjp": 4, "network": 5, "optimizer_step": 5, "optimizer_trajectory": 4, "dropout": 4,
    "dropout_stream": 4, "dropout_training_stream": 4, "training_step": 7, "early_stopping": None,
    "lr_schedule": 3,
    "epoch_batches": None, "clip_gradients": 3,
    "initialize": 4, "dense_default_init": 3,
}


class BackendFault(AssertionError):
    """The backend broke the adapter contract; a failure of the backend, reported with the call that did it."""


class InputModified(BackendFault):
    """The backend wrote into an array the suite handed it."""


class NotInDtype(BackendFault):
    """The backend returned a value that is not a number of the dtype under test."""


class BackendError(Exception):
    """A backend call raised something other than UnsupportedError (outcome ``error``)."""


class BackendTimeout(Exception):
    """A backend call ran past its wall-clock limit (outcome ``timeout``)."""


class NotCalledAfterTimeout(BackendTimeout):
    """A call refused because an earlier call of the same test timed out (shrinking must not replay a hang)."""


def representable(values: np.ndarray, fmt: dtypes.Format) -> np.ndarray:
    """Which of ``values`` (any float array) are exactly numbers of ``fmt``: NaN and +-inf are; a finite value
    must survive rounding to ``fmt`` unchanged (subnormals of the format included).

    Example:
        >>> representable(np.array([0.5, 0.1, np.nan, -np.inf]), dtypes.FORMATS["float32"]).tolist()
        [True, False, True, True]
        >>> x = np.array([1.0 + 2.0 ** -7, 1.0 + 2.0 ** -8, 2.0 ** -133])
        >>> representable(x, dtypes.FORMATS["bfloat16"]).tolist()
        [True, False, True]
    """
    x = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(x)
    with np.errstate(over="ignore", invalid="ignore"):
        if fmt.name == "bfloat16":  # a bfloat16 number is a float32 whose low 16 bits are zero
            single = x.astype(np.float32)
            exact = (single.astype(np.float64) == x) & ((single.view(np.uint32) & np.uint32(0xFFFF)) == 0)
        else:
            exact = x.astype(np.dtype(fmt.name)).astype(np.float64) == x
    return ~finite | exact


def _protect(value):
    """A copy of ``value`` in which every numpy array is a read-only copy (containers rebuilt alike)."""
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.setflags(write=False)
        return copy
    if isinstance(value, Mapping):
        return {k: _protect(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_protect(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_protect(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _protect(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


def _arrays(value, path: str):
    """(path, array) for every numpy array inside ``value``, in a stable order."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _arrays(item, f"{path}[{key!r}]" if path else str(key))
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        for key in value._fields:
            yield from _arrays(getattr(value, key), f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _arrays(item, f"{path}[{index}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _arrays(getattr(value, f.name), f"{path}.{f.name}")


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _floats(value, path: str):
    """(path, float64 array) for every floating-point value inside a backend's result."""
    if isinstance(value, (float, np.floating)):
        yield path, np.asarray(float(value))
        return
    for name, array in _arrays(value, path):
        if array.dtype.kind == "f":
            yield name, array.astype(np.float64)
        elif array.dtype.kind == "V" or array.dtype.name == "bfloat16":  # ml_dtypes' bfloat16 and friends
            yield name, array.astype(np.float64)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, (float, np.floating)):
                yield f"{path}.{f.name}", np.asarray(float(item))


class _Deadline:
    """SIGALRM-based wall-clock limit for one call, in the main thread only (elsewhere: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    @contextmanager
    def __call__(self, what: str):
        usable = (self.seconds and hasattr(signal, "setitimer")
                  and threading.current_thread() is threading.main_thread())
        if not usable:
            yield
            return

        def expire(signum, frame):
            raise BackendTimeout(f"{what} ran past the {self.seconds:g} s limit (--call-timeout)")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


class GuardedBackend:
    """A backend as the suite sees it: every protocol call protected (see the module docstring); every other
    attribute (``name``, ``device``, ``capabilities()``, ``known_issues``, ...) is the backend's own.

    ``on_event(kind, detail)`` is told of each ``"unsupported"`` rejection, ``"error"`` and ``"timeout"``, so
    that the run can count them per test.
    """

    def __init__(self, backend: Backend, *, timeout: float | None = None,
                 on_event: Callable[[str, str], None] | None = None) -> None:
        self.__dict__["_backend"] = backend
        self.__dict__["_deadline"] = _Deadline(timeout)
        self.__dict__["_on_event"] = on_event or (lambda kind, detail: None)
        self.__dict__["_poisoned"] = None

    @property
    def unwrapped(self) -> Backend:
        return self._backend

    def reset(self) -> None:
        """Forget a timeout (a new test starts)."""
        self.__dict__["_poisoned"] = None

    def __getattr__(self, name: str):
        attribute = getattr(self._backend, name)
        if name in PROTOCOL and callable(attribute):
            return lambda *args, **kwargs: self._call(name, attribute, args, kwargs)
        return attribute

    def __setattr__(self, name: str, value) -> None:
        setattr(self._backend, name, value)

    def _describe(self, method: str, args: tuple, kwargs: dict) -> str:
        what = f"{self._backend.name}.{method}"
        if method in ("forward", "vjp", "optimizer_step", "optimizer_trajectory") and args:
            what += f"({args[0]!r}"
            dtype = self._dtype(method, args, kwargs)
            what += f", {dtype})" if dtype else ")"
        return what

    @staticmethod
    def _dtype(method: str, args: tuple, kwargs: dict) -> str | None:
        index = PROTOCOL[method]
        if index is None:
            return None
        if "dtype" in kwargs:
            return kwargs["dtype"]
        return args[index] if len(args) > index and isinstance(args[index], str) else None

    def _call(self, method: str, function, args: tuple, kwargs: dict):
        what = self._describe(method, args, kwargs)
        if self._poisoned is not None:
            raise NotCalledAfterTimeout(f"{what} not called: an earlier call in this test timed out ({self._poisoned})")
        handed_args, handed_kwargs = _protect(args), _protect(kwargs)
        try:
            with self._deadline(what):
                result = function(*handed_args, **handed_kwargs)
        except UnsupportedError as error:
            self._on_event("unsupported", str(error))
            raise
        except BackendTimeout as error:
            self.__dict__["_poisoned"] = str(error)
            self._on_event("timeout", str(error))
            raise
        except BackendFault:
            raise
        except ValueError as error:
            if "read-only" not in str(error):
                self._on_event("error", f"{what} raised ValueError: {error}")
                raise BackendError(f"{what} raised ValueError: {error}") from error
            raise InputModified(f"{what}: the backend tried to write into an input array it was handed ({error}); "
                                "a backend must not write into its inputs (docs/adapters.md#contract)") from error
        except Exception as error:  # the backend's own failure, reported as "error" with the call that raised
            self._on_event("error", f"{what} raised {type(error).__name__}: {error}")
            raise BackendError(f"{what} raised {type(error).__name__}: {error}") from error
        originals = dict(_arrays((args, kwargs), ""))
        for path, handed in _arrays((handed_args, handed_kwargs), ""):
            if not _same_bits(handed, originals[path]):
                changed = int(np.sum(handed != originals[path])) if handed.shape == originals[path].shape else -1
                raise InputModified(f"{what}: the backend modified its input {_name(path, method)} "
                                    f"({changed} element(s) changed); a backend must not write into the arrays it "
                                    "is handed (docs/adapters.md#contract)")
        dtype = self._dtype(method, args, kwargs)  # the protocol's name; its format resolved once here
        fmt = dtypes.FORMATS.get(dtype) if dtype is not None else None
        if fmt is not None and fmt is not dtypes.FLOAT64:
            for path, values in _floats(result, "result"):
                ok = representable(values, fmt)
                if not bool(np.all(ok)):
                    index = tuple(int(i) for i in np.unravel_index(int(np.argmin(ok)), ok.shape)) if ok.ndim else ()
                    value = float(values[index])
                    nearest = float(fmt.round(np.array(value)))
                    raise NotInDtype(f"{what}: {path}{list(index) if index else ''} = {value!r} is not a {dtype} "
                                     f"number (nearest {dtype}: {nearest!r}); {int(np.sum(~ok))} of {ok.size} "
                                     f"value(s) are not: the backend did not compute in {dtype}")
        return result


def _name(path: str, method: str) -> str:
    """A readable name for an argument path such as ``[0][1]['x']`` (positional 1 of ``forward`` is ``arrays``)."""
    names = {"forward": ("primitive", "arrays", "params", "dtype"),
             "vjp": ("primitive", "arrays", "params", "grad_output", "dtype"),
             "network": ("layers", "x", "target", "loss", "loss_params", "dtype"),
             "optimizer_step": ("optimizer", "hyper", "param", "grad", "state", "dtype"),
             "optimizer_trajectory": ("optimizer", "hyper", "param", "grads", "dtype"),
             "dropout": ("x", "p", "training", "seed", "dtype", "grad_output"),
             "training_step": ("layers", "x", "target", "loss", "loss_params", "optimizer", "hyper", "dtype",
                               "dropout_masks")}.get(method, ())
    if path.startswith("[0]["):
        rest = path[4:]
        index, _, tail = rest.partition("]")
        if index.isdigit() and int(index) < len(names):
            name = names[int(index)]
            if name in ("arrays", "state", "hyper") and tail.startswith("["):
                return tail[2:-2] if tail.endswith("']") and tail.count("[") == 1 else f"{name}{tail}"
            return f"{name}{tail}"
    if path.startswith("[1]"):
        return path[3:].strip("[]'")
    return path

