"""Convention fingerprinting of the losses' last-axis step (docs/spec/losses.md#last-axis): does the backend's
"none" reduction of an (N, d) input keep every element (PyTorch, optax's elementwise losses), average each sample
over the last axis (Keras), or sum it (Keras's KLDivergence, optax's kl_divergence)?

The declaration is not trusted: each loss the backend declares runs one fixed probe, inputs of shape (2, 3) exact
in every dtype with reduction "none", and every candidate ``last_axis`` (None, "mean", "sum") of the reference,
with the backend's other declared conventions, is compared with it under the loss's budget. The candidates give
different shapes (None) or values a factor d = 3 apart ("mean", "sum"), so at most one matches. Used by
``nnspec identify``, beside the optimizers' fingerprints (nnspec.conformance.identify).
"""

from __future__ import annotations

import inspect

import numpy as np

from nnspec.adapters.base import Backend, UnsupportedError
from nnspec.conformance import budgets, checks
from nnspec.conformance.comparison import compare
from nnspec.conformance.identify import Fingerprint
from nnspec.reference import catalogue, dtypes

__all__ = ["PROBES", "CANDIDATES", "identify"]

CANDIDATES = (None, "mean", "sum")
_X = np.array([[0.25, -1.5, 2.0], [0.5, 0.75, -0.25]])
_P = np.array([[0.25, 0.5, 0.125], [0.75, 0.5, 1.0]])
#: loss -> its probe's arrays (every value a short dyadic fraction: exact in every dtype)
PROBES = {
    "mean_squared_error": {"prediction": _X, "target": _X[::-1].copy()},
    "huber": {"prediction": 2 * _X, "target": _X[::-1].copy()},
    "binary_cross_entropy": {"probability": _P, "target": _P[::-1].copy()},
    "binary_cross_entropy_with_logits": {"logits": _X, "target": _P},
    "kl_divergence": {"log_prediction": -_P, "target": _P[::-1].copy()},
    "kl_divergence_probs": {"prediction": _P, "target": _P[::-1].copy()},
}


def _ratio(observed: np.ndarray, primitive: str, arrays, params, fmt: dtypes.Format) -> float:
    forward = catalogue.get(primitive).module.forward
    expected = forward(**arrays, **{k: v for k, v in params.items() if k in inspect.signature(forward).parameters})
    if np.shape(observed) != np.shape(expected):
        return float("inf")
    return compare(observed, expected, budgets.forward(primitive, arrays, params, fmt)).ratio


def _fingerprint(backend: Backend, primitive: str, fmt: dtypes.Format) -> Fingerprint:
    arrays = PROBES[primitive]
    declared_all = checks.reference_params(backend, primitive, {"reduction": "none"})
    declared = {"last_axis": declared_all.pop("last_axis", None)}
    try:
        observed = np.asarray(backend.forward(primitive, arrays, {"reduction": "none"}, fmt.name), dtype=np.float64)
    except (UnsupportedError, NotImplementedError) as error:
        return Fingerprint(primitive, "unsupported", declared=declared, note=str(error))
    ratios = [(_ratio(observed, primitive, arrays, {**declared_all, "last_axis": c}, fmt), {"last_axis": c})
              for c in CANDIDATES]
    return Fingerprint.from_ratios(primitive, ratios, declared)


def identify(backend: Backend, fmt: dtypes.Format = dtypes.FORMATS["float32"]) -> list[Fingerprint]:
    """One fingerprint of ``last_axis`` per loss of ``PROBES`` the backend declares (and declares ``fmt`` for)."""
    caps = backend.capabilities()
    return [_fingerprint(backend, primitive, fmt) for primitive in PROBES
            if primitive in caps.primitives and caps.declares_dtype(primitive, fmt.name)]
