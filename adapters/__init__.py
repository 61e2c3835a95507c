"""Adapters: the protocol a framework implements (``nnspec.adapters.base``) and the backends nnspec ships: the
reference (``reference_backend``) and one package per framework (``torch``, ``jax``, ``tensorflow``), each with its
tables apart from its drivers; ``known_issue_rules`` holds the known-issue predicates they share.

A backend is named on the command line (``--backend``) in one of three ways:

- a built-in name: ``reference``, ``torch``, ``jax``, ``tensorflow``;
- ``package.module:Class`` for a backend class that is importable but not installed as a plugin;
- the name of an entry point in the group ``nnspec.backends`` of an installed package.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from nnspec.adapters.base import Backend

__all__ = ["BUILTIN", "load_backend", "Backend"]

#: Built-in backends: name -> "module:Class". Imported only when asked for, so no framework is needed.
BUILTIN = {
    "reference": "nnspec.adapters.reference_backend:ReferenceBackend",
    "torch": "nnspec.adapters.torch.backend:TorchBackend",
    "jax": "nnspec.adapters.jax.backend:JaxBackend",
    "tensorflow": "nnspec.adapters.tensorflow.backend:TensorFlowBackend",
}


def _resolve(spec: str) -> type:
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"load_backend: {module_name!r} has no attribute {attribute!r}") from None


def load_backend(name: str, device: str = "cpu", **options: str) -> Backend:
    """Construct the backend called ``name`` on ``device``.

    Raises:
        ValueError: if no backend of that name exists, or the object found is not a Backend subclass.
        ImportError: if the backend's framework is not installed (the message says which).

    Example:
        >>> load_backend("reference").name
        'reference'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"load_backend: name must be a non-empty string, got {name!r}")
    if name in BUILTIN:
        cls = _resolve(BUILTIN[name])
    elif ":" in name:
        cls = _resolve(name)
    else:
        found = [ep for ep in entry_points(group="nnspec.backends") if ep.name == name]
        if not found:
            known = sorted(BUILTIN) + sorted(ep.name for ep in entry_points(group="nnspec.backends"))
            raise ValueError(f"load_backend: name must be one of {', '.join(known)} or 'module:Class', got {name!r}")
        cls = found[0].load()
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ValueError(f"load_backend: {name!r} is not a subclass of nnspec.adapters.base.Backend")
    return cls(device=device, **options)
