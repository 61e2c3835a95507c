"""The checks themselves, as plain functions of (backend, inputs): the tests call them, and so does
``nnspec replay``, which re-runs one recorded failing case outside pytest.

Every check compares the backend with the float64 reference, evaluated at the same dtype-exact inputs with the
named conventions the backend declares, under the budgets of the concepts' rooms (``nnspec.conformance.budgets``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import budgets, excuses, report
from nnspec.conformance import network as network_room
from nnspec.conformance.comparison import Comparison, compare
from nnspec.reference import catalogue, dtypes

__all__ = ["reference_params", "forward", "vjp", "vjp_oracle", "network", "save_case", "load_case", "run_case"]


def reference_params(backend: Backend, primitive: str, params: Mapping[str, object]) -> dict[str, object]:
    """The keyword arguments the reference is evaluated with: the entry's, the test's, and the backend's
    declared conventions for this primitive (a named spec variant, e.g. softplus's linear threshold)."""
    entry = catalogue.get(primitive)
    conventions = backend.capabilities().conventions.get(primitive, {})
    return {**entry.params, **params, **conventions}


def _accepted(function, params: Mapping[str, object]) -> dict[str, object]:
    """The keyword arguments ``function`` takes: a convention applies to the functions that name it (e.g.
    BCE's backward-only ``denominator_floor``)."""
    accepted = inspect.signature(function).parameters
    return {k: v for k, v in params.items() if k in accepted}


def _excuses(backend: Backend, primitive: str, kind: str, arrays, params, dtype: str):
    """The mask and ids of the backend's known issues that apply to this check (nnspec.conformance.excuses)."""
    return excuses.element_mask(backend, primitive, kind, arrays, params, dtype)


def forward(backend: Backend, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
            fmt: dtypes.Format) -> Comparison:
    """Compare the backend's forward in ``fmt`` (the backend gets its name) with the reference's."""
    entry = catalogue.get(primitive)
    observed = backend.forward(primitive, arrays, {**entry.params, **params}, fmt.name)
    ref_params = reference_params(backend, primitive, params)
    expected = entry.module.forward(**arrays, **_accepted(entry.module.forward, ref_params))
    excused, ids = _excuses(backend, primitive, "forward", arrays, {**entry.params, **params}, fmt.name)
    return compare(observed, expected, budgets.forward(primitive, arrays, ref_params, fmt), excused, ids,
                   fmt.overflow)


def vjp(backend: Backend, primitive: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, object],
        grad_output: np.ndarray, fmt: dtypes.Format) -> dict[str, Comparison]:
    """Compare the backend's autodiff with the reference's explicit backward, input by input."""
    entry = catalogue.get(primitive)
    observed = backend.vjp(primitive, arrays, {**entry.params, **params}, grad_output, fmt.name)
    ref_params = reference_params(backend, primitive, params)
    expected = entry.module.backward(**arrays, grad_output=grad_output,
                                     **_accepted(entry.module.backward, ref_params))
    if isinstance(expected, np.ndarray):
        expected = {entry.differentiable[0]: expected}
    else:
        expected = {k: v for k, v in expected._asdict().items() if v is not None}
    budget = budgets.backward(primitive, arrays, grad_output, ref_params, fmt)
    excused, ids = _excuses(backend, primitive, "vjp", {**arrays, "grad_output": grad_output},
                            {**entry.params, **params}, fmt.name)
    result = {}
    for name, value in expected.items():
        if name not in observed:
            result[name] = Comparison(float("inf"), problem=f"the backend returned no gradient for {name!r}")
        else:
            result[name] = compare(observed[name], value, budget[name], excused, ids, fmt.overflow)
    return result


def vjp_oracle(backend: Backend, primitive: str, x: np.ndarray, fmt: dtypes.Format) -> Comparison:
    """Compare the backend's derivative of an elementwise primitive (its VJP with ones) with the derivative
    SymPy derives from the spec's formula, evaluated exactly with mpmath (nnspec.conformance.oracles)."""
    from nnspec.conformance.oracles import activations as oracle

    entry = catalogue.get(primitive)
    params = reference_params(backend, primitive, {})
    ones = np.ones_like(x)
    observed = backend.vjp(primitive, {"x": x}, dict(entry.params), ones, fmt.name)["x"]
    oracle_name = "gelu_tanh" if params.get("approximate") == "tanh" else primitive
    exact = oracle.derivatives(oracle_name, x, **{k: v for k, v in params.items() if k != "approximate"})
    budget = budgets.backward(primitive, {"x": x}, ones, params, fmt)["x"]
    excused, ids = _excuses(backend, primitive, "vjp", {"x": x, "grad_output": ones}, dict(entry.params), fmt.name)
    return compare(observed, exact, budget, excused, ids, fmt.overflow)


def network(backend: Backend, layers, x: np.ndarray, target: np.ndarray, loss: str,
            loss_params: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Compare a network's loss and every parameter gradient, computed with the backend's own layer objects,
    with the reference's explicit backpropagation. ``layers`` are (weight (in, out), bias, activation)."""
    from nnspec.reference import network as net

    conventions = backend.capabilities().conventions
    as_layers = [net.Layer(np.asarray(w), np.asarray(b), act) for w, b, act in layers]
    result = backend.network(as_layers, x, target, loss, loss_params, fmt.name)
    # the loss's last-axis step, where the backend declares one (docs/spec/losses.md#last-axis)
    loss_params = {**loss_params, **{k: v for k, v in conventions.get(loss, {}).items() if k == "last_axis"}}
    reference_layers = [net.Layer(layer.weight, layer.bias, layer.activation,
                                  dict(conventions.get(layer.activation, {}))) for layer in as_layers]
    expected_loss, expected = net.loss_and_gradients(reference_layers, x, target, loss=loss, **loss_params)
    budget = network_room.budget(reference_layers, x, target, loss, loss_params, fmt)
    comparisons = {"loss": compare(np.asarray(result.loss), np.asarray(expected_loss), budget["loss"])}
    for index, grads in enumerate(expected):
        comparisons[f"grad of layers[{index}].weight"] = compare(
            result.weight_grads[index], grads.weight, budget["weights"][index])
        comparisons[f"grad of layers[{index}].bias"] = compare(
            result.bias_grads[index], grads.bias, budget["biases"][index])
    return comparisons


# --- cases: a failing example written to disk so that one command replays exactly it ---------------------------


def _encode(value):
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return {"dtype": "float64", "shape": list(array.shape), "hex": [float(v).hex() for v in array.ravel()]}
    return {"dtype": "int64", "shape": list(array.shape), "values": [int(v) for v in array.ravel()]}


def _decode(blob) -> np.ndarray | None:
    if blob is None:
        return None
    if blob["dtype"] == "float64":
        return np.array([float.fromhex(v) for v in blob["hex"]], dtype=np.float64).reshape(blob["shape"])
    return np.array(blob["values"], dtype=np.int64).reshape(blob["shape"])


def save_case(path: Path, case: Mapping[str, object]) -> Path:
    """Write a case (kind, primitive, arrays, params, grad_output, dtype, backend) as exact JSON."""
    encoded = dict(case)
    encoded["arrays"] = {k: _encode(v) for k, v in case["arrays"].items()}
    if case.get("grad_output") is not None:
        encoded["grad_output"] = _encode(case["grad_output"])
    report.write_atomic(path, json.dumps(encoded, indent=1))
    return path


def load_case(path: Path) -> dict[str, object]:
    """Read a case written by :func:`save_case`."""
    case = json.loads(Path(path).read_text())
    case["arrays"] = {k: _decode(v) for k, v in case["arrays"].items()}
    if case.get("grad_output") is not None:
        case["grad_output"] = _decode(case["grad_output"])
    return case


#: Case kinds whose checks live in other modules of the suite: kind prefix -> module with run_case(backend, case, fmt).
_CASE_MODULES = {
    "optimizer": "nnspec.conformance.optimizer_checks",
    "dropout": "nnspec.conformance.training_checks",
    "early_stopping": "nnspec.conformance.training_checks",
    "training": "nnspec.conformance.training_checks",
    "batch": "nnspec.conformance.normalization_checks",
    "schedule": "nnspec.conformance.schedule_checks",
    "clip": "nnspec.conformance.gradient_clipping",
    "initializer": "nnspec.conformance.initializer_checks",
    "ignored": "nnspec.conformance.ignored_rows",
}


def run_case(backend: Backend, case: Mapping[str, object]) -> dict[str, Comparison]:
    """Re-run a recorded case against ``backend``. The case file names its dtype (data): resolved here, once, and
    handed as a ``Format`` to the module's ``run_case(backend, case, fmt)``."""
    fmt = dtypes.get(case["dtype"])
    prefix = str(case["kind"]).split("_")[0] if not str(case["kind"]).startswith("early_stopping") else "early_stopping"
    if prefix in _CASE_MODULES:
        import importlib

        return importlib.import_module(_CASE_MODULES[prefix]).run_case(backend, case, fmt)
    if case["kind"] == "forward":
        return {"output": forward(backend, case["primitive"], case["arrays"], case["params"], fmt)}
    if case["kind"] == "vjp":
        return vjp(backend, case["primitive"], case["arrays"], case["params"], case["grad_output"], fmt)
    if case["kind"] == "vjp_oracle":
        return {"grad of x": vjp_oracle(backend, case["primitive"], case["arrays"]["x"], fmt)}
    if case["kind"] == "network":
        arrays = case["arrays"]
        depth = sum(1 for k in arrays if k.startswith("weight"))
        layers = [(arrays[f"weight{i}"], arrays[f"bias{i}"], case["params"]["activations"][i]) for i in range(depth)]
        return network(backend, layers, arrays["x"], arrays["target"], case["params"]["loss"],
                       {"reduction": case["params"]["reduction"]}, fmt)
    raise ValueError(f"run_case: case kind must be 'forward', 'vjp' or 'network', got {case['kind']!r}")
