"""The checklist of a concept: for every name of the catalogue, what it still lacks.

A primitive, an optimizer or a training feature is complete when it has its spec section, its reference, its
independent oracle, its room in the suite (bounds, strategies, probes) and a row in every built-in adapter, or a
stated reason why that framework has none (``NOT_IN_FRAMEWORK``). Adding a concept starts by registering its
name in ``nnspec.reference.catalogue``; this test then lists what is missing, file by file
(docs/architecture.md#adding-a-primitive).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path

import pytest

from nnspec.adapters import base
from nnspec.conformance import budgets
from nnspec.reference import catalogue

ROOT = Path(__file__).resolve().parents[1]
BUILT_IN = ("reference", "torch", "jax", "tensorflow")
#: (backend, catalogue name) -> why the framework has no row for it. Everything else must be declared.
NOT_IN_FRAMEWORK = {
    ("torch", "early_stopping"): "PyTorch has no early-stopping rule (Lightning's is outside torch)",
    ("jax", "early_stopping"): "JAX and optax have no early-stopping rule",
    ("jax", "dense_default_init"): "JAX has no layer objects: jax.nn.initializers only (stax.Dense is not a default)",
    ("jax", "epoch_batches"): "JAX has no data loader or shuffling of epochs",
    ("jax", "dropout_stream_unseeded"): "a JAX key is an argument: there is no unseeded stream",
    ("jax", "binary_cross_entropy"): "optax has binary cross-entropy on logits only, not on probabilities",
    ("jax", "smooth_l1"): "optax has huber_loss only; smooth-L1 is Huber / delta, math an adapter must not do",
    ("tensorflow", "smooth_l1"): "Keras has Huber only; smooth-L1 is Huber / delta, math an adapter must not do",
    ("jax", "nll_loss"): "optax has no NLL on log-probabilities (picking -x[label] is math an adapter must not do)",
    ("tensorflow", "nll_loss"): "Keras has no public NLL loss; its cross-entropies take probabilities or logits",
    ("tensorflow", "kl_divergence"): "keras.losses.KLDivergence takes probabilities (kl_divergence_probs), not log q",
    ("torch", "kl_divergence_probs"): "F.kl_div takes log q; exp or log of the inputs is math an adapter must not do",
    ("jax", "kl_divergence_probs"): "optax's kl_divergence takes log q; their log is math an adapter must not do",
    ("tensorflow", "epoch_batches"): "the adapter does not drive keras.utils.PyDataset shuffling (not yet written)",
    ("torch", "lion"): "torch.optim has no Lion (PyTorch 2.13; lucidrains' lion-pytorch is outside torch)",
    ("tensorflow", "schedule_onecycle"): "keras.optimizers.schedules has no one-cycle schedule (Keras 3.15)",
    ("jax", "layer_norm"): "jax.nn.standardize has no weight or bias (scaling and shifting would be adapter math), "
                           "and its default algorithm='fast' is the one-pass mean(x^2) - mean^2; flax is not installed",
    ("jax", "batch_norm"): "JAX has no BatchNorm (flax.linen.BatchNorm is outside jax, and not installed)",
    ("jax", "batch_norm_running_stats"): "JAX has no BatchNorm, hence no running statistics (flax is not installed)",
}


@functools.cache
def _anchors(page: Path) -> set[str]:
    """tests/test_docs.py's ``anchors``, the one markdown-anchor parser of the tests (tests/ is no package)."""
    spec = importlib.util.spec_from_file_location("nnspec_tests_docs", ROOT / "tests" / "test_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.anchors(page)


def _anchor_exists(spec: str) -> bool:
    page, _, anchor = spec.partition("#")
    path = ROOT / page
    return path.exists() and (not anchor or anchor in _anchors(path))


def _declared(backend_name: str) -> base.Capabilities:
    pytest.importorskip({"torch": "torch", "jax": "optax", "tensorflow": "keras"}.get(backend_name, "numpy"))
    from nnspec.adapters import load_backend

    return load_backend(backend_name).capabilities()


@pytest.fixture(scope="module")
def declared():
    return {name: _declared(name) for name in BUILT_IN}


def _room_lacks(reference_module, names: tuple[str, ...]) -> list[str]:
    try:
        room = budgets.room_of(reference_module)
    except ModuleNotFoundError as missing:
        return [f"room {missing.name}"]
    return [f"room {room.__name__}.{name}" for name in names if not hasattr(room, name)]


def _primitive_lacks(entry: catalogue.Primitive) -> list[str]:
    from nnspec.conformance.oracles import activations as activation_oracle
    from nnspec.conformance.oracles import losses as loss_oracle
    from nnspec.conformance.oracles import normalization as normalization_oracle

    lacks = [] if _anchor_exists(entry.spec) else [f"spec section {entry.spec}"]
    lacks += [f"reference {entry.module.__name__}.{f}" for f in ("forward", "backward") if not hasattr(entry.module, f)]
    lacks += _room_lacks(entry.module, ("forward_bound", "backward_bound"))
    has_oracle = {"elementwise": lambda: activation_oracle.expression(entry.name, **entry.params) is not None,
                  "rowwise": lambda: hasattr(activation_oracle, f"{entry.name}_values"),
                  "loss": lambda: entry.module.__name__.rsplit(".", 1)[-1] in loss_oracle.NAMES,
                  # dense is exact in rational arithmetic: its oracle is mpmath's fsum over the products
                  "layer": lambda: (ROOT / "tests" / "reference" / f"test_{entry.name}.py").exists(),
                  "normalization": lambda: hasattr(normalization_oracle, f"{entry.name}_values")}[entry.kind]
    return lacks + ([] if has_oracle() else [f"oracle for {entry.kind} {entry.name}"])


def _optimizer_lacks(entry: catalogue.Optimizer) -> list[str]:
    from nnspec.conformance.oracles import optimizers as optimizer_oracle

    lacks = [] if _anchor_exists(entry.spec) else [f"spec section {entry.spec}"]
    lacks += [f"reference {entry.module.__name__}.{f}" for f in ("init", "step", "State", "CONVENTIONS")
              if not hasattr(entry.module, f)]
    lacks += _room_lacks(entry.module, ("bound", "hyperparameters", "PROBES"))
    in_oracle = entry.name in optimizer_oracle.OPTIMIZERS
    return lacks + ([] if in_oracle else ["oracle row in conformance/oracles/optimizers.py"])


def _feature_lacks(entry: catalogue.Feature) -> list[str]:
    lacks = [] if _anchor_exists(entry.spec) else [f"spec section {entry.spec}"]
    return lacks + ([] if hasattr(base.Backend, entry.method) else [f"protocol method Backend.{entry.method}"])


def _adapter_lacks(name: str, declared: dict[str, base.Capabilities]) -> list[str]:
    lacks = []
    for backend, caps in declared.items():
        has = name in caps.primitives or name in caps.optimizers or name in caps.features
        if not has and (backend, name) not in NOT_IN_FRAMEWORK:
            lacks.append(f"{backend} adapter row (or a reason in NOT_IN_FRAMEWORK)")
        if has and (backend, name) in NOT_IN_FRAMEWORK:
            lacks.append(f"stale NOT_IN_FRAMEWORK entry: {backend} declares {name}")
    return lacks


def _checklist(declared) -> dict[str, list[str]]:
    rows = {p.name: _primitive_lacks(p) for p in catalogue.PRIMITIVES}
    rows |= {o.name: _optimizer_lacks(o) for o in catalogue.OPTIMIZERS}
    rows |= {f.name: _feature_lacks(f) for f in catalogue.FEATURES}
    return {name: lacks + _adapter_lacks(name, declared) for name, lacks in rows.items()}


def test_every_catalogue_name_is_complete(declared):
    missing = {name: lacks for name, lacks in _checklist(declared).items() if lacks}
    assert not missing, "what each concept still lacks:\n" + "\n".join(
        f"  {name}: " + "; ".join(lacks) for name, lacks in sorted(missing.items()))


def test_the_checklist_sees_a_concept_with_nothing_but_a_name(declared, monkeypatch):
    """A name registered and nothing else: the checklist names every file still to write."""
    ghost = catalogue.Optimizer("lamb", importlib.import_module("nnspec.reference.optimizers._state"),
                                "docs/spec/optimizers.md#lamb", {}, (), {}, ())
    lacks = _optimizer_lacks(ghost) + _adapter_lacks("lamb", declared)
    assert any(item.startswith("spec section") for item in lacks)
    assert any(item.startswith("reference") for item in lacks)
    assert "oracle row in conformance/oracles/optimizers.py" in lacks
    assert sum("adapter row" in item for item in lacks) == len(BUILT_IN)
