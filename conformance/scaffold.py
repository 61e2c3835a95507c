"""``nnspec new-backend NAME``: write a framework author's adapter package that runs green at once.

The package has an entry point in the ``nnspec.backends`` group (so ``nnspec run --backend NAME`` finds it once
installed), a backend class that declares one primitive (relu) implemented with numpy as a stand-in for the
framework, and a test that runs the suite against it. The author replaces the stand-in with the framework's own
call, then declares more primitives one by one (docs/adapters.md, docs/tutorial-your-framework.md).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

__all__ = ["write", "package_name"]

_PYPROJECT = '''[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "nnspec-{name}"
version = "0.1.0"
description = "nnspec conformance adapter for {name}"
requires-python = ">=3.10"
dependencies = ["nnspec"]

[project.entry-points."nnspec.backends"]
{name} = "{package}.backend:{cls}"

[tool.setuptools]
packages = ["{package}"]
'''

_BACKEND = '''"""The nnspec adapter of {name}: it hands nnspec's inputs to {name} and returns what {name} computed.

Start: `nnspec run --backend {package}.backend:{cls}` (or `--backend {name}` once this package is installed).
Then, one primitive at a time (docs/adapters.md lists every method, argument and name):
1. replace the numpy stand-in in `forward`/`vjp` with {name}'s own call (no math of your own here);
2. add the primitive to `PRIMITIVES` (names: nnspec.reference.catalogue.PRIMITIVES);
3. run the suite; a red cell prints the input, the error/budget and a replay command.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import Backend, Capabilities, OptimizerDeclaration, UnsupportedError

#: What this backend declares; everything else is reported "unsupported", never failed.
PRIMITIVES = frozenset({{"relu"}})
DTYPES = ("float64", "float32")
#: Per optimizer (names: nnspec.reference.catalogue.optimizers()), once `optimizer_step` and `optimizer_trajectory`
#: call {name}'s own optimizer: the reference conventions it follows, e.g. {{"adam": OptimizerDeclaration(
#: nnspec.reference.optimizers.profiles.conventions("pytorch", "adam"))}} (docs/adapters.md#capabilities).
OPTIMIZERS: dict[str, OptimizerDeclaration] = {{}}


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)  # STAND-IN: replace with {name}'s relu, e.g. framework.relu(tensor)


def _relu_vjp(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    # STAND-IN for {name}'s autodiff of relu: relu'(0) = 0, and NaN at a NaN input (docs/spec/conventions.md)
    return np.where(x > 0, grad_output, np.where(x <= 0, 0, x)).astype(x.dtype)


class {cls}(Backend):
    """{name} through its public API."""

    name = "{name}"
    option_names = MappingProxyType({{}})  # e.g. {{"threads": "intra-op threads"}}; read with self.int_option

    def capabilities(self) -> Capabilities:
        return Capabilities(primitives=PRIMITIVES, dtypes=DTYPES, devices=("cpu",), optimizers=OPTIMIZERS)

    def environment(self) -> dict[str, object]:
        return {{"framework": "{name}", "version": "0.0 (stand-in)", "device_name": self.device}}

    def _tensor(self, array: np.ndarray, dtype: str) -> np.ndarray:
        """nnspec's float64 input (exact in dtype) as {name}'s tensor of dtype. STAND-IN: a numpy array."""
        return np.asarray(array).astype(dtype)  # astype copies: never write into the array you are handed

    def _numpy(self, tensor) -> np.ndarray:
        """{name}'s result back as numpy, converted losslessly (values must stay numbers of the dtype)."""
        return np.asarray(tensor)

    def forward(self, primitive, arrays, params, dtype):
        if primitive != "relu":
            raise UnsupportedError(f"{name}: primitive {{primitive!r}}")
        return self._numpy(_relu(self._tensor(arrays["x"], dtype)))

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        if primitive != "relu":
            raise UnsupportedError(f"{name}: primitive {{primitive!r}}")
        x, g = self._tensor(arrays["x"], dtype), self._tensor(grad_output, dtype)
        return {{"x": self._numpy(_relu_vjp(x, g))}}
'''

_TEST = '''"""The adapter passes what it declares: the conformance suite, run through nnspec's command line."""

import subprocess
import sys


def test_{package}_conforms(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nnspec", "run", "--backend", "{package}.backend:{cls}",
                           "--profile", "ci", "--report", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
'''

_README = '''# nnspec-{name}

The [nnspec](https://pypi.org/project/nnspec/) conformance adapter of {name}.

```bash
nnspec run --backend {package}.backend:{cls} --report reports/{name}   # from this folder
pip install -e . && nnspec run --backend {name}                          # installed: by its entry point
python3 -m pytest tests                                                  # the adapter's own test
```

`{package}/backend.py` declares relu with a numpy stand-in: replace it with {name}'s own calls, then declare
more primitives, dtypes and features (see nnspec's docs/adapters.md).
'''


def package_name(name: str) -> str:
    """The Python package of the adapter for the backend called ``name`` (``my-fw`` -> ``nnspec_my_fw``)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,39}", name or ""):
        raise ValueError(f"new-backend: NAME must be a letter then up to 39 letters, digits, '-' or '_', got {name!r}")
    package = "nnspec_" + name.replace("-", "_").lower()
    if keyword.iskeyword(package):  # pragma: no cover - the prefix rules it out
        raise ValueError(f"new-backend: {name!r} makes a Python keyword")
    return package


def write(name: str, directory: Path) -> list[Path]:
    """Write the adapter package for ``name`` into ``directory`` (which must not exist or be empty)."""
    package = package_name(name)
    cls = "".join(part.capitalize() for part in re.split(r"[-_]", name)) + "Backend"
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"new-backend: {directory} exists and is not empty")
    files = {
        directory / "pyproject.toml": _PYPROJECT,
        directory / package / "__init__.py": '"""nnspec adapter of {name}."""\n',
        directory / package / "backend.py": _BACKEND,
        directory / "tests" / f"test_{package}.py": _TEST,
        directory / "README.md": _README,
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(name=name, package=package, cls=cls))
    return list(files)
