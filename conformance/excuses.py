"""Known issues, judged in one place with one rule (docs/report-schema.md#outcomes).

A backend's :class:`~nnspec.adapters.base.KnownIssue` names a primitive, a check kind and a predicate ``where``
over the inputs. The rule: an issue applies to a check of its primitive whose kind is the issue's kind (an
element-wise check: ``forward``, ``vjp``; ``vjp_oracle`` counts as ``vjp``) or starts with it (a whole case:
``network``, ``optimizer_*``, ``dropout_*``, ``training_*``, ``early_stopping_*``). In an element-wise check it
excuses exactly the elements where ``where`` is true; a whole case is excused only where ``where`` is true for
the case as a whole; a backend that *raises* in an element-wise check is excused only if an issue of that
primitive and kind covers at least one of its inputs (torch's BCE rejects a NaN probability). Every excused
mismatch is counted: a test in which everything checked was excused reports the outcome ``excused``, never
``passed``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nnspec.adapters.base import Backend

__all__ = ["ELEMENTWISE", "element_mask", "whole_case", "raising"]

#: Check kinds judged element by element (the issue's mask has the shape of the checked output or gradient).
ELEMENTWISE = ("forward", "vjp", "vjp_oracle")


def element_mask(backend: Backend, primitive: str, kind: str, arrays: Mapping[str, np.ndarray],
                 params: Mapping[str, object], dtype: str) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """The mask of excused elements and the ids of the issues that apply to an element-wise check."""
    kind = "vjp" if kind == "vjp_oracle" else kind
    issues = [issue for issue in backend.known_issues if issue.primitive == primitive and issue.kind == kind]
    if not issues:
        return None, ()
    params = {**params, "device": backend.device}  # a bug of one kernel may live on one device only
    masks = [np.asarray(issue.where(arrays, params, dtype), dtype=bool) for issue in issues]
    return np.logical_or.reduce(np.broadcast_arrays(*masks)), tuple(issue.id for issue in issues)


def whole_case(backend: Backend, case: Mapping[str, object], dtype: str) -> str | None:
    """The id of a known issue that excuses a whole (non-element-wise) case, or None."""
    kind = str(case.get("kind", ""))
    if kind in ELEMENTWISE:
        return None  # element-wise checks are excused element by element
    for issue in backend.known_issues:
        if issue.primitive == case.get("primitive") and kind.startswith(issue.kind):
            params = {**case.get("params", {}), "device": backend.device}
            if bool(np.all(issue.where(case.get("arrays", {}), params, dtype))):
                return issue.id
    return None


def raising(backend: Backend, primitive: str, kind: str, arrays: Mapping[str, np.ndarray],
            params: Mapping[str, object], dtype: str) -> tuple[str, ...]:
    """The ids of the known issues that excuse an element-wise check whose backend call raised: those of this
    primitive and kind whose ``where`` holds for at least one element of these inputs (empty: not excused)."""
    if kind not in ELEMENTWISE:
        return ()
    kind = "vjp" if kind == "vjp_oracle" else kind
    params = {**params, "device": backend.device}
    return tuple(issue.id for issue in backend.known_issues if issue.primitive == primitive and issue.kind == kind
                 and bool(np.any(issue.where(arrays, params, dtype))))
