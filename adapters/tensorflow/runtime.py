"""TensorFlow and Keras as every module of the backend imports them: quietly, with Keras on its TensorFlow
backend (``tf``, ``keras``); and ``floatx``, the dtype Keras creates its variables in."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import numpy as np

__all__ = ["floatx", "keras", "tf", "as_numpy", "keras_reduction"]


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file while TensorFlow's C++ runtime starts (it logs oneDNN and CPU
    feature notices before its log level applies); the text is shown again only if the import fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _import_quietly():
    """Import TensorFlow and Keras (on its TensorFlow backend) without their start-up chatter. The environment
    variables read by TF's C++ logging are set only for the import and restored after it: the log level is
    fixed once TF has logged, and other frameworks in the process (XLA reads the same variable) keep theirs."""
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        raise ImportError("the tensorflow backend needs Keras on its TensorFlow backend, but keras was imported "
                          f"with KERAS_BACKEND={os.environ['KERAS_BACKEND']!r}")
    saved = {name: os.environ.get(name) for name in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    os.environ.update(TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    try:
        with _stderr_silenced():
            import keras as keras_module
            import tensorflow as tf_module
    except ImportError as error:  # pragma: no cover - exercised only without tensorflow
        raise ImportError("the tensorflow backend needs TensorFlow and Keras 3: pip install 'nnspec[tensorflow]'"
                          ) from error
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    tf_module.get_logger().setLevel("ERROR")  # TensorFlow's own Python logger only
    return tf_module, keras_module


tf, keras = _import_quietly()

#: nnspec's reduction -> the Keras loss's (`sum_over_batch_size` divides by the number of losses).
_REDUCTIONS = {"mean": "sum_over_batch_size", "sum": "sum", "none": None}


def keras_reduction(params) -> str | None:
    """The ``reduction=`` of a Keras loss for nnspec's ``params["reduction"]`` (default "mean")."""
    return _REDUCTIONS[params.get("reduction", "mean")]


@contextlib.contextmanager
def floatx(dtype: str) -> Iterator[None]:
    """Run with ``keras.backend.floatx()`` set to ``dtype`` (Keras creates optimizer variables, e.g. the
    learning rate, in floatx), restoring the previous value afterwards."""
    previous = keras.backend.floatx()
    keras.backend.set_floatx(dtype)
    try:
        yield
    finally:
        keras.backend.set_floatx(previous)


def as_numpy(value) -> np.ndarray:
    """A float64 numpy copy of a tensor or variable."""
    return np.asarray(value, dtype=np.float64)
