"""Convention fingerprinting: which named variant of each optimizer a backend's implementation computes.

The declaration is not trusted: for every optimizer the backend runs the fixed probes of
``strategies.optimizers.discriminating_cases`` (free-running, from a fresh optimizer), and every candidate
variant of the reference (each combination of the optimizer's convention keywords, plus each framework profile)
is compared with those trajectories under the trajectory budgets. A candidate matches when every step of every
probe is within budget. The probes are built so that two different variants never both match.

Used by ``nnspec identify`` and callable from a report: :func:`identify` returns one :class:`Fingerprint` per
optimizer, :func:`to_json` and :func:`table` present them.

Spec: docs/spec/optimizers.md#identify
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from nnspec.adapters.base import Backend, OptimizerDeclaration, UnsupportedError
from nnspec.conformance import optimizer_checks
from nnspec.conformance.strategies.optimizers import discriminating_cases
from nnspec.reference import catalogue, dtypes
from nnspec.reference.optimizers import profiles

__all__ = ["Fingerprint", "candidates", "identify", "to_json", "table"]


@dataclass
class Fingerprint:
    """What one optimizer of a backend matched.

    Attributes:
        optimizer: the reference module's name.
        status: "identified" (one variant), "ambiguous" (several), "no match", or "unsupported".
        matches: the matching variants' convention keywords.
        profiles: the framework profiles equal to a matching variant.
        declared: the backend's declared conventions (None when it declares none).
        agrees: whether the declaration is among the matches (None when nothing is declared).
        closest: the variant with the smallest worst error/budget, and that ratio, when nothing matched.
        note: why the optimizer is unsupported, if it is.
    """

    optimizer: str
    status: str
    matches: list[dict[str, object]] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    declared: dict[str, object] | None = None
    agrees: bool | None = None
    closest: dict[str, object] | None = None
    closest_ratio: float | None = None
    note: str = ""

    @classmethod
    def from_matches(cls, label: str, matches: Sequence[dict[str, object]],
                     declared: dict[str, object] | None) -> Fingerprint:
        """The fingerprint of a feature whose identify function returned the matching convention combinations."""
        matches = [dict(m) for m in matches]
        return cls(label, {0: "no match", 1: "identified"}.get(len(matches), "ambiguous"), matches, [], declared,
                   None if declared is None else declared in matches)

    @classmethod
    def from_ratios(cls, label: str, ratios: Sequence[tuple[float, dict[str, object]]],
                    declared: dict[str, object] | None, profiles: Sequence[str] = (), note: str = "") -> Fingerprint:
        """The fingerprint of a thing whose candidate variants gave these worst error/budget ratios: the
        variants within budget match; the closest one is kept only when none does."""
        matches = [variant for ratio, variant in ratios if ratio <= 1.0]
        ratio, closest = min(ratios, key=lambda pair: pair[0])
        return cls(label, {0: "no match", 1: "identified"}.get(len(matches), "ambiguous"), matches, list(profiles),
                   declared, None if declared is None else declared in matches, None if matches else closest,
                   None if matches else ratio, note)


def candidates(optimizer: str) -> list[dict[str, object]]:
    """Every combination of the optimizer's convention values (its module's ``CONVENTIONS``), then each profile's
    variant not already listed (Keras's NAdam pins momentum_decay = 1)."""
    vocabulary = catalogue.optimizer(optimizer).conventions
    found = [dict(zip(vocabulary, values)) for values in itertools.product(*vocabulary.values())]
    for profile in (p for p in profiles.PROFILES if optimizer in profiles.PROFILES[p]):
        variant = profiles.conventions(profile, optimizer)
        if variant not in found:
            found.append(variant)
    return found


def _worst(observed: Sequence, optimizer: str, probes: Sequence, variant: Mapping[str, object], fmt: dtypes.Format,
           facts: OptimizerDeclaration) -> float:
    worst = 0.0
    variant = dataclasses.replace(facts, conventions=variant)
    for trajectory, (hyper, param, grads) in zip(observed, probes):
        try:
            comparisons = optimizer_checks.compare_trajectory(trajectory, optimizer, hyper, param, grads, fmt,
                                                              variant, require_state=False)
        except ValueError:  # a combination the spec does not define (AMSGrad's v_hat with eps_hat)
            return float("inf")
        worst = max(worst, *(c.ratio for c in comparisons.values()))
    return worst


def _fingerprint(backend: Backend, optimizer: str, fmt: dtypes.Format) -> Fingerprint:
    declaration = backend.capabilities().optimizers.get(optimizer)
    # precision facts and state_not_held are facts about the framework, not conventions: every candidate gets them
    facts = OptimizerDeclaration() if declaration is None else dataclasses.replace(declaration, conventions={})
    declared = None if declaration is None else dict(declaration.conventions)
    probes, observed, notes = [], [], []
    for hyper, param, grads in discriminating_cases(optimizer, fmt):
        try:  # a probe with a feature the framework lacks (dampening, lr_decay) is skipped
            observed.append(backend.optimizer_trajectory(optimizer, hyper, param, grads, fmt.name))
            probes.append((hyper, param, grads))
        except (UnsupportedError, NotImplementedError) as error:
            notes.append(str(error))
    if not probes:
        return Fingerprint(optimizer, "unsupported", declared=declared, note="; ".join(notes))
    ratios = [(_worst(observed, optimizer, probes, variant, fmt, facts), variant)
              for variant in candidates(optimizer)]
    matches = [variant for ratio, variant in ratios if ratio <= 1.0]
    named = [p for p, table in profiles.PROFILES.items() if optimizer in table and dict(table[optimizer]) in matches]
    return Fingerprint.from_ratios(optimizer, ratios, declared, named,
                                   note="; ".join(f"probe skipped: {note}" for note in notes))


def identify(backend: Backend, fmt: dtypes.Format = dtypes.FORMATS["float32"],
             optimizers: Sequence[str] | None = None) -> list[Fingerprint]:
    """Fingerprint each optimizer of ``backend`` by running its trajectories on the discriminating probes.

    float32 by default: the question is which formula, not how precise. Declared precision facts (PyTorch's NAdam
    keeps ``mu_product`` in float32 also for float64 parameters; Keras computes bias corrections in the tensor's
    dtype) and ``state_not_held`` are facts about the framework, not conventions, and apply to every candidate.
    """
    names = catalogue.optimizers() if optimizers is None else optimizers
    return [_fingerprint(backend, optimizer, fmt) for optimizer in names]


def to_json(fingerprints: Sequence[Fingerprint]) -> list[dict[str, object]]:
    """JSON-ready dicts (one per optimizer)."""
    return [asdict(f) for f in fingerprints]


def _variant(variant: Mapping[str, object] | None) -> str:
    return "" if not variant else ", ".join(str(v) for v in variant.values())


def table(fingerprints: Sequence[Fingerprint], title: str = ""):
    """A rich Table: optimizer, status, matching variant(s), profile(s), and whether the declaration agrees."""
    from rich.table import Table

    view = Table(title=title or None, caption="matches: the values of " + "; ".join(
        f"{entry.name}: {', '.join(entry.conventions)}" for entry in catalogue.OPTIMIZERS if entry.conventions))
    for column in ("optimizer", "status", "matches", "profile", "declared"):
        view.add_column(column)
    for f in fingerprints:
        matched = "\n".join(_variant(v) for v in f.matches) or (
            f"closest: {_variant(f.closest)} (error/budget {f.closest_ratio:.3g})" if f.closest else f.note)
        agrees = {None: "-", True: "agrees", False: "DISAGREES"}[f.agrees]
        view.add_row(f.optimizer, f.status, matched, ", ".join(f.profiles) or "-", agrees)
    return view
