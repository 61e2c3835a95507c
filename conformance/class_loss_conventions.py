"""Which convention of the class-weighted softmax cross-entropy a backend computes (``nnspec identify``): what
"mean" divides by (``mean_divisor``) and where a class weight multiplies the smoothed target
(``smoothing_weight``), each on the room's fixed ``PROBES`` case, whatever the backend declares.

Spec: docs/spec/losses.md#class-weights-and-ignore-index
"""

from __future__ import annotations

from nnspec.adapters.base import Backend, UnsupportedError
from nnspec.conformance import budgets
from nnspec.conformance.comparison import compare
from nnspec.conformance.identify import Fingerprint
from nnspec.conformance.losses import softmax_cross_entropy as room
from nnspec.reference import catalogue, dtypes
from nnspec.reference.losses import softmax_cross_entropy

__all__ = ["identify"]

PRIMITIVE = "softmax_cross_entropy"
VALUES = softmax_cross_entropy.CONVENTIONS
#: the options each probe needs the backend to declare
NEEDS = {"mean_divisor": ("class_weight", "ignore_index"), "smoothing_weight": ("class_weight",)}


def _fingerprint(backend: Backend, convention: str, fmt: dtypes.Format) -> Fingerprint:
    label = f"{PRIMITIVE} {convention}"
    caps = backend.capabilities()
    declared = dict(caps.conventions.get(PRIMITIVE, {}))
    stated = {convention: declared.get(convention, VALUES[convention][0])}  # none declared: the default
    missing = [o for o in NEEDS[convention] if o not in caps.options.get(PRIMITIVE, frozenset())]
    if PRIMITIVE not in caps.primitives or missing:
        return Fingerprint(label, "unsupported", note=f"{backend.name} does not declare {missing or [PRIMITIVE]}: "
                                                      "without class weights the convention cannot show")
    arrays, params = room.PROBES[convention]
    try:
        observed = backend.forward(PRIMITIVE, arrays, dict(params), fmt.name)
    except UnsupportedError as error:
        return Fingerprint(label, "unsupported", note=str(error))
    ratios = []
    for value in VALUES[convention]:
        variant = {**catalogue.get(PRIMITIVE).params, **params, **declared, convention: value}
        expected = softmax_cross_entropy.forward(**arrays, **variant)
        budget = budgets.forward(PRIMITIVE, arrays, variant, fmt)
        ratios.append((compare(observed, expected, budget).ratio, {convention: value}))
    return Fingerprint.from_ratios(label, ratios, stated)


def identify(backend: Backend, fmt: dtypes.Format = dtypes.FORMATS["float32"]) -> list[Fingerprint]:
    """One fingerprint per convention of the class-weighted cross-entropy."""
    return [_fingerprint(backend, convention, fmt) for convention in VALUES]
