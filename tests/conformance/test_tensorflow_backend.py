"""The TensorFlow / Keras backend: it loads, its import is quiet, its declarations are real, and a quick run
of a few primitives passes (the full run is `nnspec run --backend tensorflow`, see README)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from nnspec.adapters import load_backend  # noqa: E402
from nnspec.conformance import checks  # noqa: E402
from nnspec.reference import catalogue, dtypes  # noqa: E402
from nnspec.reference.optimizers import profiles  # noqa: E402


@pytest.fixture(scope="module")
def backend():
    return load_backend("tensorflow")


def test_tensorflow_backend_loads_and_declares(backend):
    caps = backend.capabilities()
    assert backend.name == "tensorflow" and caps.dtypes == ("float64", "float32")
    assert caps.conventions["binary_cross_entropy"] == {"clip_probability": 1e-7, "last_axis": "mean"}
    assert {name: dict(d.conventions) for name, d in caps.optimizers.items()} == {
        name: profiles.conventions("keras", name) for name in catalogue.optimizers()}
    assert {name for name, d in caps.optimizers.items() if "dtype_arithmetic" in d.precision} == {
        "adam", "adamw", "adamax", "nadam", "lion"}
    assert {name for name, d in caps.optimizers.items() if "moment_update" in d.precision} == {
        "adam", "adamw", "adamax", "nadam"}  # Lion's moments are weighted sums
    assert {"network", "dropout", "early_stopping", "training_step"} <= caps.features


def test_tensorflow_import_is_quiet_and_leaves_the_environment():
    code = ("import os; import nnspec.adapters.tensorflow.backend; "
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), os.environ.get('KERAS_BACKEND'))")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.split() == ["None", "None"]


def test_bce_clip_convention_is_what_keras_computes(backend):
    """Keras clips p to [1e-7, 1 - 1e-7]: declared, BCE at p in {0, 1} passes; undeclared it is an O(1) miss."""
    arrays = {"probability": np.array([0.0, 0.0, 1.0, 1.0]), "target": np.array([0.0, 1.0, 0.0, 1.0])}
    for dtype in ("float64", "float32"):
        assert checks.forward(backend, "binary_cross_entropy", arrays, {"reduction": "none"}, dtypes.get(dtype)).ok

    class Undeclared(type(backend)):
        def capabilities(self):
            caps = super().capabilities()
            conventions = {"binary_cross_entropy": {"last_axis": "mean"}}  # the clip left undeclared
            return type(caps)(caps.primitives, caps.dtypes, caps.devices, conventions, caps.features, caps.optimizers)

    assert not checks.forward(Undeclared(), "binary_cross_entropy", arrays, {"reduction": "none"}, dtypes.FLOAT64).ok


def test_keras_adam_is_eps_hat(backend):
    """Keras's Adam step is the reference's eps_hat variant, not PyTorch's eps outside the root."""
    hyper = {"lr": 0.1, "betas": (0.9, 0.999), "eps": 0.1}
    param, _ = backend.optimizer_step("adam", hyper, np.zeros(1), np.ones(1), None, "float32")
    from nnspec.reference.optimizers import adam

    keras_like = adam.step(np.zeros(1), np.ones(1), adam.init(np.zeros(1)), **hyper, eps_placement="eps_hat")[0]
    torch_like = adam.step(np.zeros(1), np.ones(1), adam.init(np.zeros(1)), **hyper)[0]
    assert abs(param[0] - keras_like[0]) < abs(param[0] - torch_like[0]) / 100


def test_tensorflow_ci_run_of_a_few_primitives_passes():
    command = [sys.executable, "-m", "nnspec", "run", "--backend", "tensorflow", "--profile", "ci",
               "-k", "test_elementwise_forward and (relu or tanh) or test_dense_backward or mean_squared_error",
               "--jobs", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
