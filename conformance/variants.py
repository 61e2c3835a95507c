"""The hyperparameter variant of a checked case: which optional options its params switch on, read off the
params generically (no table per optimizer or primitive), so a test's distinct failures can be told apart by
variant as well as by input class (docs/report-schema.md#distinct-failures).

A token per option, compared with the option's default where the reference declares one (an optimizer's
``catalogue.optimizer(name).defaults``, a primitive's keyword defaults of its reference ``forward``):

- a boolean that differs from its default: ``amsgrad`` (True), ``not NAME`` (False where the default is True);
  with no default known, True only;
- a number whose sign (negative, zero, positive) differs from its default's: ``weight_decay>0``,
  ``negative_slope<0``, ``momentum=0`` where the default is non-zero; with no default known, a non-zero number;
  so ``lr``, ``eps`` and ``betas`` (never zero) never appear;
- a string (a mode such as ``reduction``): nothing. Every case has one, so a bug common to all modes would be
  filed, and shrunk, once per mode (a softmax cross-entropy failure 3 or 6 times: measured, it tripled the time of
  a failing run); the failing case's message still shows its mode;
- lists, tuples, None and seeds (a name holding "seed": a draw, not an option): nothing. Nested maps (an
  optimizer case's ``hyper``) are read as one level.

The tokens are sorted and joined with ", "; a case with none has the variant "".
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping

from nnspec.reference import catalogue

__all__ = ["variant"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,24}")  # an option's name: a name, not a text (a description)


def _defaults(case: Mapping) -> dict[str, object]:
    """The reference's defaults for the case's options: its optimizer's, else its primitive's ``forward``'s."""
    name = str(case.get("primitive", ""))
    if name in catalogue.optimizers():
        return dict(catalogue.optimizer(name).defaults)
    if name not in catalogue.names():
        return {}
    forward = getattr(catalogue.get(name).module, "forward", None)
    if forward is None:
        return {}
    return {p.name: p.default for p in inspect.signature(forward).parameters.values()
            if p.default is not inspect.Parameter.empty}


def _options(params: Mapping, depth: int = 0) -> Iterator[tuple[str, object]]:
    for key, value in params.items():
        if isinstance(value, Mapping):
            if depth == 0:
                yield from _options(value, depth + 1)
        else:
            if _NAME.fullmatch(str(key)) and "seed" not in str(key):
                yield str(key), value


def _sign(value: float) -> str:
    return ">0" if value > 0 else "<0" if value < 0 else "=0"


def _token(name: str, value: object, defaults: Mapping[str, object]) -> str:
    default = defaults.get(name)
    if isinstance(value, bool):
        if isinstance(default, bool):
            return "" if value == default else name if value else f"not {name}"
        return name if value else ""
    if isinstance(value, (int, float)):
        if value != value:  # NaN: no sign
            return f"{name}=nan"
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            return "" if _sign(value) == _sign(default) else name + _sign(value)
        return name + _sign(value) if value != 0 else ""
    return ""


def variant(case: Mapping) -> str:
    """The variant of ``case`` (a check's record: ``primitive`` and ``params``), as sorted tokens.

    Example:
        >>> variant({"primitive": "adam", "params": {"optimizer": "adam", "hyper": {"lr": 0.1, "betas": [0.9, 0.9],
        ...          "eps": 1e-8, "weight_decay": 0.01, "amsgrad": True}}})
        'amsgrad, weight_decay>0'
        >>> variant({"primitive": "leaky_relu", "params": {"negative_slope": -0.5}})
        'negative_slope<0'
        >>> variant({"primitive": "softmax_cross_entropy", "params": {"reduction": "sum", "label_smoothing": 0.1}})
        'label_smoothing>0'
        >>> variant({"primitive": "relu", "params": {}})
        ''
    """
    params = case.get("params") or {}
    if not isinstance(params, Mapping):
        return ""
    defaults = _defaults(case)
    tokens = {_token(name, value, defaults) for name, value in _options(params)}
    return ", ".join(sorted(tokens - {""}))
