"""Named framework profiles: which convention each framework's optimizer follows, and its default hyperparameters.

``PROFILES[framework][optimizer]`` holds the convention keyword arguments (``eps_placement``, ``momentum_buffer``,
``amsgrad_max_of``, ``weight_decay_mode``, ``momentum_schedule``, and the hyperparameters Keras fixes: NAdam's
``momentum_decay`` = 1, SGD's ``dampening`` = 0 and Adagrad's ``lr_decay`` = 0, which it has no argument for)
that make the reference compute what that framework computes. They are not defaults: a profile is pinned by
the framework's code, while ``DEFAULTS[framework][optimizer]`` lists the hyperparameters a user may change
(under the reference's keyword names; optax leaves the learning rate to the caller).

A profile is a view of the vocabularies: every value is checked, when this module loads, against the
``CONVENTIONS`` of the optimizer's module (or is one of its hyperparameters), and each table has a row for every
optimizer of the catalogue that its framework has (PyTorch has no Lion), in catalogue order.

optax's aliases other than ``adadelta``, ``adamw`` and ``lion`` take no weight decay; chaining
``optax.add_decayed_weights`` before the alias adds it to the gradient, which is the "coupled" form.

Spec: docs/spec/optimizers.md#profiles
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from nnspec.reference import _validation as check
from nnspec.reference import catalogue

__all__ = ["PROFILES", "DEFAULTS", "conventions"]

#: The catalogue's optimizer names (``catalogue.optimizers()``), for importers not yet reading the catalogue.


def _frozen(table: dict[str, dict[str, object]], conventions: bool = True) -> Mapping[str, Mapping[str, object]]:
    """The table, read-only, after checking it against the catalogue: a row per optimizer the framework has, in
    catalogue order (PyTorch has no Lion); in a profile each key a convention with one of its named values, or a
    hyperparameter the framework fixes; in defaults hyperparameters."""
    if tuple(table) != tuple(name for name in catalogue.optimizers() if name in table):
        raise ValueError(f"profiles: rows {tuple(table)} must be catalogue optimizers, in the catalogue's order "
                         f"{catalogue.optimizers()}")
    for name, entry in table.items():
        vocabulary = catalogue.optimizer(name).conventions if conventions else {}
        for key, value in entry.items():
            if key in vocabulary:
                check.choice("profiles", f"{name}.{key}", value, vocabulary[key])
            elif key not in catalogue.optimizer(name).hyperparameters:
                raise ValueError(f"profiles: {name} has no convention or hyperparameter {key!r}")
    return MappingProxyType({name: MappingProxyType(entry) for name, entry in table.items()})


PROFILES: Mapping[str, Mapping[str, Mapping[str, object]]] = MappingProxyType({
    "pytorch": _frozen({
        "sgd": {"momentum_buffer": "raw_gradient_first_step_undampened", "weight_decay_mode": "coupled"},
        "adagrad": {"eps_placement": "outside_sqrt", "weight_decay_mode": "coupled"},
        "rmsprop": {"eps_placement": "outside_sqrt", "momentum_buffer": "unscaled", "weight_decay_mode": "coupled"},
        "adadelta": {"weight_decay_mode": "coupled"},
        "adam": {"eps_placement": "outside_sqrt", "amsgrad_max_of": "raw_v", "weight_decay_mode": "coupled"},
        "adamw": {"eps_placement": "outside_sqrt", "amsgrad_max_of": "raw_v"},
        "adamax": {"eps_placement": "in_max", "weight_decay_mode": "coupled"},
        "nadam": {"momentum_schedule": "dozat", "weight_decay_mode": "coupled"},
    }),  # no lion: torch.optim has no Lion (PyTorch 2.13)
    "keras": _frozen({
        "sgd": {"momentum_buffer": "lr_scaled", "weight_decay_mode": "decoupled", "dampening": 0.0},
        "adagrad": {"eps_placement": "inside_sqrt", "weight_decay_mode": "decoupled", "lr_decay": 0.0},
        "rmsprop": {"eps_placement": "inside_sqrt", "momentum_buffer": "lr_scaled", "weight_decay_mode": "decoupled"},
        "adadelta": {"weight_decay_mode": "decoupled"},
        "adam": {"eps_placement": "eps_hat", "amsgrad_max_of": "raw_v", "weight_decay_mode": "decoupled"},
        "adamw": {"eps_placement": "eps_hat", "amsgrad_max_of": "raw_v"},
        "adamax": {"eps_placement": "in_denominator", "weight_decay_mode": "decoupled"},
        "nadam": {"momentum_schedule": "dozat", "momentum_decay": 1.0, "weight_decay_mode": "decoupled"},
        "lion": {"weight_decay_mode": "decoupled"},
    }),
    "optax": _frozen({
        "sgd": {"momentum_buffer": "zero_init", "weight_decay_mode": "coupled"},
        "adagrad": {"eps_placement": "inside_sqrt", "weight_decay_mode": "coupled"},
        "rmsprop": {"eps_placement": "inside_sqrt", "momentum_buffer": "lr_scaled", "weight_decay_mode": "coupled"},
        "adadelta": {"weight_decay_mode": "coupled"},
        "adam": {"eps_placement": "outside_sqrt", "amsgrad_max_of": "v_hat", "weight_decay_mode": "coupled"},
        "adamw": {"eps_placement": "outside_sqrt", "amsgrad_max_of": "v_hat"},
        "adamax": {"eps_placement": "in_max", "weight_decay_mode": "coupled"},
        "nadam": {"momentum_schedule": "constant", "weight_decay_mode": "coupled"},
        "lion": {"weight_decay_mode": "decoupled"},
    }),
})

_ADAM_BETAS = (0.9, 0.999)

DEFAULTS: Mapping[str, Mapping[str, Mapping[str, object]]] = MappingProxyType({
    "pytorch": _frozen(conventions=False, table={
        "sgd": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
        "adagrad": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
                    "eps": 1e-10},
        "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
        "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
        "adam": {"lr": 1e-3, "betas": _ADAM_BETAS, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
        "adamw": {"lr": 1e-3, "betas": _ADAM_BETAS, "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
        "adamax": {"lr": 2e-3, "betas": _ADAM_BETAS, "eps": 1e-8, "weight_decay": 0.0},
        "nadam": {"lr": 2e-3, "betas": _ADAM_BETAS, "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 4e-3},
    }),
    "keras": _frozen(conventions=False, table={
        "sgd": {"lr": 1e-2, "momentum": 0.0, "nesterov": False},
        "adagrad": {"lr": 1e-3, "initial_accumulator_value": 0.1, "eps": 1e-7},
        "rmsprop": {"lr": 1e-3, "alpha": 0.9, "momentum": 0.0, "eps": 1e-7, "centered": False},
        "adadelta": {"lr": 1e-3, "rho": 0.95, "eps": 1e-7},
        "adam": {"lr": 1e-3, "betas": _ADAM_BETAS, "eps": 1e-7, "amsgrad": False},
        "adamw": {"lr": 1e-3, "betas": _ADAM_BETAS, "eps": 1e-7, "weight_decay": 0.004, "amsgrad": False},
        "adamax": {"lr": 1e-3, "betas": _ADAM_BETAS, "eps": 1e-7},
        "nadam": {"lr": 1e-3, "betas": _ADAM_BETAS, "eps": 1e-7},
        "lion": {"lr": 1e-3, "betas": (0.9, 0.99), "weight_decay": 0.0},
    }),
    "optax": _frozen(conventions=False, table={
        "sgd": {"momentum": 0.0, "nesterov": False},
        "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7},
        "rmsprop": {"alpha": 0.9, "eps": 1e-8, "centered": False, "momentum": 0.0},
        "adadelta": {"rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
        "adam": {"betas": _ADAM_BETAS, "eps": 1e-8},
        "adamw": {"betas": _ADAM_BETAS, "eps": 1e-8, "weight_decay": 1e-4},
        "adamax": {"betas": _ADAM_BETAS, "eps": 1e-8},
        "nadam": {"betas": _ADAM_BETAS, "eps": 1e-8},
        "lion": {"betas": (0.9, 0.99), "weight_decay": 1e-3},
    }),
})


def conventions(profile: str, optimizer: str) -> dict[str, object]:
    """The convention keyword arguments with which the reference ``optimizer`` computes what ``profile`` does.

    Spec: docs/spec/optimizers.md#profiles

    Args:
        profile: "pytorch", "keras" or "optax".
        optimizer: one of ``catalogue.optimizers()``.

    Returns:
        A new dict, to be passed to the optimizer's ``init`` and ``step`` with the hyperparameters.

    Raises:
        ValueError: for an unknown profile or optimizer, or an optimizer the framework does not have.

    Example:
        >>> conventions("keras", "adam")["eps_placement"]
        'eps_hat'
    """
    check.choice("profiles.conventions", "profile", profile, tuple(PROFILES))
    check.choice("profiles.conventions", "optimizer", optimizer, catalogue.optimizers())
    if optimizer not in PROFILES[profile]:
        raise ValueError(f"profiles.conventions: {profile} has no optimizer {optimizer!r}")
    return dict(PROFILES[profile][optimizer])
