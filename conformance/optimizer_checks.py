"""Optimizer checks: a backend's own optimizer against the reference, step by step and free-running.

- **Per step from identical state** (:func:`steps`): the reference runs the trajectory in the dtype under test;
  before every step the backend receives the reference's parameter and state (exact in that dtype) and takes one
  step with its own optimizer class; the result is compared with the float64 reference's step from the same
  state, parameter and every state array. Rounding cannot compound across steps, so each step is judged by
  the budget of one step.
- **Free-running** (:func:`trajectory`): a fresh backend optimizer takes every step itself; the budget grows with
  the step count (``budgets.optimizer_steps`` carries each step's rounding through the later steps).

Both stop at the first step where something is outside its budget, so a failure names the earliest wrong step,
and its key names the step and the tensor (``"step 2: max_exp_avg_sq"``).

Spec: docs/spec/optimizers.md#conformance
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import mpmath
import numpy as np

from nnspec.adapters.base import COEFFICIENT_GROUPS, FLOAT32_HYPERPARAMETERS, Backend, OptimizerDeclaration
from nnspec.conformance import budgets
from nnspec.conformance.comparison import Comparison, compare
from nnspec.reference import catalogue, dtypes

__all__ = ["UnreachableState", "require", "declared", "with_fixed", "reference_keywords", "step_reference", "steps",
           "trajectory", "compare_trajectory", "case", "run_case", "SPEC"]

SPEC = "docs/spec/optimizers.md#conformance"
# A declaration (``OptimizerDeclaration``) holds conventions, which are reference keywords, apart from precision facts
# (docs/spec/optimizers.md#precision: the formula is the reference's, its rounding the framework's) and the state
# fields the framework does not hold because its representation derives them (optax's NAdam has no mu_product).
# ``float32_hyperparameters`` names hyperparameters the framework uses rounded to float32 wherever they enter
# (Keras's ``ops.cast(python_float, dtype)`` is ``tf.cast``, which makes a float32 tensor first), and coefficient
# groups (``COEFFICIENT_GROUPS``) whose beta (and NAdam's 0.96) it rounds to float32, as ``dtype_arithmetic`` names
# them.


def require(checker, optimizer: str, prop: str) -> None:
    """Skip as *unsupported* unless the backend declares ``optimizer`` and the dtype (the optimizers' analogue of
    ``Checker.require``, which knows catalogue primitives and features)."""
    import pytest

    if checker.record.primitive == "?":
        checker.record.primitive, checker.record.prop = optimizer, prop
    caps = checker.backend.capabilities()
    if optimizer not in caps.optimizers:
        pytest.skip(f"unsupported: {checker.backend.name} does not declare optimizer {optimizer!r}")
    if not caps.declares_dtype(optimizer, checker.dtype):
        pytest.skip(f"unsupported: {checker.backend.name} does not declare dtype {checker.dtype} for {optimizer}")


def declared(backend: Backend, optimizer: str) -> OptimizerDeclaration:
    """What the backend declares for ``optimizer`` (an empty declaration when it declares none)."""
    return backend.capabilities().optimizers.get(optimizer, OptimizerDeclaration())


def with_fixed(backend: Backend, optimizer: str, hyper: Mapping[str, object]) -> dict[str, object]:
    """The drawn ``hyper`` with every hyperparameter the backend declares fixed (a convention key that is a
    hyperparameter: Keras's SGD ``dampening`` 0, an Adam without weight decay's ``weight_decay`` 0) set to the
    declared value: the backend is handed, and the case records, what the framework really computes, so a
    framework that lacks an option is checked on every draw instead of rejecting most of them.

    Example:
        >>> from types import SimpleNamespace
        >>> caps = SimpleNamespace(optimizers={"adam": OptimizerDeclaration(conventions={"weight_decay": 0.0})})
        >>> with_fixed(SimpleNamespace(capabilities=lambda: caps), "adam", {"lr": 0.1, "weight_decay": 0.5})
        {'lr': 0.1, 'weight_decay': 0.0}
    """
    fixed = declared(backend, optimizer).conventions
    return {name: fixed.get(name, value) for name, value in hyper.items()}


def reference_keywords(optimizer: str, hyper: Mapping[str, object], declaration: OptimizerDeclaration) -> dict:
    """The keywords the reference step is evaluated with: the hyperparameters and the declared conventions it
    accepts (``betas`` as a tuple), float32-rounded where the declaration says the framework rounds them."""
    defaults = catalogue.optimizer(optimizer).defaults
    keywords = {k: v for k, v in {**hyper, **declaration.conventions}.items() if k in defaults}
    rounded = _float32_facts(declaration)
    for name in set(rounded) & set(FLOAT32_HYPERPARAMETERS) & set(keywords):
        keywords[name] = _float32(keywords[name])
    if "betas" in defaults and set(rounded) & set(COEFFICIENT_GROUPS):
        keywords.setdefault("betas", defaults["betas"])
    if "betas" in keywords:
        betas = tuple(keywords["betas"])
        keywords["betas"] = tuple(map(_float32, betas)) if "moment_weight" in rounded else betas
    return keywords


def _float32(value) -> float:
    return float(np.float32(value))


def _float32_facts(declaration: OptimizerDeclaration) -> tuple[str, ...]:
    """The declared ``float32_hyperparameters`` (checked when the backend loaded: ``OptimizerDeclaration.validate``)."""
    return tuple(declaration.precision.get("float32_hyperparameters", ()))


def _mp(value) -> mpmath.mpf:
    return mpmath.mpf(float(value))


def step_reference(optimizer: str, hyper: Mapping[str, object], keywords: Mapping[str, object],
                   declaration: OptimizerDeclaration, state):
    """The reference keywords and state that reproduce, exactly, step ``state.step + 1`` of a framework declaring
    float32-rounded coefficient groups (docs/spec/optimizers.md#precision): the same step re-parameterised, with
    every factor computed at 50 digits and rounded once.

    Math (c_t = 1 - beta**t with the declared beta, c32_t with beta rounded to float32; t = state.step + 1):
        Adam, AdamW ("eps_hat"), Adamax with ``bias_correction`` (the bias corrections' beta only):
            R = (sqrt(c32_t(beta2)) / c32_t(beta1)) / (sqrt(c_t(beta2)) / c_t(beta1))     (Adamax: c_t / c32_t)
            lr' = lr * R;  weight_decay' = weight_decay / R   (the decay p - lr * wd * p keeps its lr)
        NAdam with all three groups (beta1, beta2 and 0.96 rounded in the update, not in the product of the
        momentum factors, which Keras keeps from the Python numbers):
            betas' = betas rounded (``reference_keywords``);  momentum_decay' = momentum_decay * ln(0.96_32) / ln(0.96)
            mu_product' = mu_product * mu_t(beta1, 0.96) / mu_t(beta1_32, 0.96_32)
    so that the reference's mu_product * mu_t is the framework's product. Anything else is a ValueError.
    """
    groups = set(_float32_facts(declaration)) & set(COEFFICIENT_GROUPS)
    if not groups:
        return dict(keywords), state
    if groups == {"moment_weight"}:  # Keras's Lion: the rounded betas alone, which reference_keywords applied
        return dict(keywords), state
    keywords, t = dict(keywords), int(state.step) + 1
    defaults = catalogue.optimizer(optimizer).defaults
    beta1, beta2 = (_mp(b) for b in tuple(hyper.get("betas", defaults["betas"])))
    low1, low2 = (_mp(_float32(b)) for b in (beta1, beta2))
    with mpmath.workdps(50):
        if optimizer in ("adam", "adamw", "adamax") and groups == {"bias_correction"}:
            if optimizer != "adamax" and keywords.get("eps_placement") != "eps_hat":
                raise ValueError(f"{optimizer}: float32 bias corrections are expressible with eps_placement "
                                 f"'eps_hat' only, got {keywords.get('eps_placement')!r}")
            ratio = (1 - beta1**t) / (1 - low1**t)
            if optimizer != "adamax":
                ratio *= mpmath.sqrt(1 - low2**t) / mpmath.sqrt(1 - beta2**t)
            keywords["lr"] = float(_mp(keywords.get("lr", defaults["lr"])) * ratio)
            if keywords.get("weight_decay", defaults["weight_decay"]):
                keywords["weight_decay"] = float(_mp(keywords.get("weight_decay", defaults["weight_decay"])) / ratio)
            return keywords, state
        if optimizer == "nadam" and groups == set(COEFFICIENT_GROUPS) and keywords.get("momentum_schedule") == "dozat":
            psi = _mp(keywords.get("momentum_decay", defaults["momentum_decay"]))
            decay, low_decay = _mp(0.96), _mp(_float32(0.96))
            keywords["momentum_decay"] = float(psi * mpmath.log(low_decay) / mpmath.log(decay))
            framework = beta1 * (1 - decay ** (t * psi) / 2)
            reference = low1 * (1 - low_decay ** (t * psi) / 2)
            if reference != 0:  # (beta1 = 0: both products are 0)
                return keywords, state._replace(mu_product=float(_mp(state.mu_product) * framework / reference))
            if framework == 0:
                return keywords, state
    raise ValueError(f"{optimizer}: float32_hyperparameters groups {sorted(groups)} are not expressible as the "
                     "reference's step (see optimizer_checks.step_reference)")


def _as64(state) -> dict[str, object]:
    fields = state._asdict()
    return {k: (np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else v) for k, v in fields.items()}


def _compare_step(index: int, observed, expected, budget: Mapping[str, np.ndarray],
                  require_state: bool = True, not_held: Sequence[str] = ()) -> dict[str, Comparison]:
    """Parameter and state after step ``index`` (1-based): every array the reference has, and ``step``
    (without ``require_state``, a state array the backend does not return is not compared)."""
    (obs_param, obs_state), (exp_param, exp_state) = observed, expected
    result = {f"step {index}: param": compare(obs_param, exp_param, budget["param"])}
    for name, value in exp_state.items():
        key = f"step {index}: {name}"
        if name == "step":
            if "step" in obs_state and int(obs_state["step"]) != value:
                result[key] = Comparison(float("inf"), problem=f"state step is {obs_state['step']}, expected {value}")
        elif value is None or name in not_held:
            continue
        elif name not in obs_state:
            if not require_state:
                continue
            result[key] = Comparison(float("inf"), problem=f"the backend returned no state {name!r}")
        else:
            result[key] = compare(np.asarray(obs_state[name]), np.asarray(value), budget[name])
    return result


def steps(backend: Backend, optimizer: str, hyper: Mapping[str, object], param: np.ndarray,
          grads: Sequence[np.ndarray], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Per-step comparison from identical state (the first step from a fresh optimizer: ``state=None``)."""
    declaration = declared(backend, optimizer)
    keywords = reference_keywords(optimizer, hyper, declaration)
    ref = catalogue.optimizer(optimizer).module
    param_d, state_d = _in_dtype(ref, param, None, None, fmt, keywords)
    result: dict[str, Comparison] = {}
    for index, grad in enumerate(grads, 1):
        given = _as64(state_d)
        param64 = param_d.astype(np.float64)
        step_keywords, start = step_reference(optimizer, hyper, keywords, declaration, ref.State(**given))
        with np.errstate(invalid="ignore"):
            expected_param, expected_state = ref.step(param64, grad, start, **step_keywords)
        if not _finite(expected_param, expected_state):
            raise UnreachableState(f"{optimizer}: the float64 step from the {fmt.name} reference's state {given} is "
                                   "not finite (a state that underflowed in the dtype)")
        observed = backend.optimizer_step(optimizer, dict(hyper), param64, grad,
                                          None if index == 1 else given, fmt.name)
        budget = budgets.optimizer_steps(optimizer, step_keywords, param64, [grad], start, fmt,
                                         declaration.precision)[0]
        result.update(_compare_step(index, observed, (expected_param, expected_state._asdict()), budget,
                                    not_held=declaration.state_not_held))
        if any(not c.ok for c in result.values()):
            break
        param_d, state_d = _in_dtype(ref, param_d, grad, state_d, fmt, keywords)
    return result


class UnreachableState(Exception):
    """The reference's state in a narrow dtype is one the float64 formula cannot step from: centered RMSprop's
    square_avg underflowed below grad_avg**2 (a weight-decayed gradient of 1e-3 squares to a float16 subnormal),
    and sqrt(v - mean**2) is NaN. Decided from the reference alone, never from the backend's output; the test
    rejects that draw (and skips that fixed case), as for a hyperparameter the backend lacks."""


def _finite(param, state) -> bool:
    arrays = [param, *(v for v in state._asdict().values() if isinstance(v, np.ndarray))]
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def _in_dtype(ref, param, grad, state, fmt: dtypes.Format, keywords):
    """The reference's next (param, state) in ``fmt``, exact in it: ``init`` when ``grad`` is None, else one
    step. numpy computes in float16/32/64 itself; for a format it lacks (bfloat16) the float64 step is rounded
    to the format, a state exact in it as well (the per-step check needs nothing more of it)."""
    if fmt.name in ("float64", "float32", "float16"):
        if grad is None:
            param = np.asarray(param, dtype=fmt.name)
            return param, ref.init(param, **keywords)
        return ref.step(param, np.asarray(grad, dtype=fmt.name), state, **keywords)
    param = fmt.round(param)
    param, state = (param, ref.init(param, **keywords)) if grad is None else ref.step(param, grad, state, **keywords)
    # arrays are rounded; scalars (step, NAdam's mu_product) stay: the budgets round mu_product on loading
    rounded = {k: (fmt.round(v) if isinstance(v, np.ndarray) else v) for k, v in state._asdict().items()}
    return fmt.round(param), ref.State(**rounded)


def trajectory(backend: Backend, optimizer: str, hyper: Mapping[str, object], param: np.ndarray,
               grads: Sequence[np.ndarray], fmt: dtypes.Format) -> dict[str, Comparison]:
    """A free-running trajectory against the float64 reference under budgets that grow with the step count."""
    observed = backend.optimizer_trajectory(optimizer, dict(hyper), param, list(grads), fmt.name)
    return compare_trajectory(observed, optimizer, hyper, param, grads, fmt, declared(backend, optimizer))


def compare_trajectory(observed, optimizer: str, hyper: Mapping[str, object], param: np.ndarray,
                       grads: Sequence[np.ndarray], fmt: dtypes.Format, declaration: OptimizerDeclaration,
                       require_state: bool = True) -> dict[str, Comparison]:
    """Compare a backend's trajectory (``optimizer_trajectory``'s result) with the reference evaluated in
    ``declaration`` (the backend's, or a candidate that ``nnspec identify`` tries, which compares only the
    state a backend returns: optax keeps no NAdam ``mu_product``)."""
    keywords = reference_keywords(optimizer, hyper, declaration)
    ref = catalogue.optimizer(optimizer).module
    param64, state = np.asarray(param, dtype=np.float64), ref.init(np.asarray(param, dtype=np.float64), **keywords)
    # (with float32 coefficient groups the steps run at step_reference's keywords, whose lr differs by the float32
    # rounding of beta relative to 1 - beta**t, 1e-5 for 0.999 at t = 1: these budgets move by as little)
    step_budgets = budgets.optimizer_steps(optimizer, keywords, param64, grads, state, fmt,
                                           declaration.precision)
    result: dict[str, Comparison] = {}
    for index, (grad, obs, budget) in enumerate(zip(grads, observed, step_budgets), 1):
        step_keywords, state = step_reference(optimizer, hyper, keywords, declaration, state)
        param64, state = ref.step(param64, grad, state, **step_keywords)
        result.update(_compare_step(index, obs, (param64, state._asdict()), budget, require_state,
                                    declaration.state_not_held))
        if any(not c.ok for c in result.values()):
            break
    if len(observed) != len(grads):
        result["steps"] = Comparison(float("inf"), problem=f"{len(observed)} steps returned for {len(grads)} gradients")
    return result


def case(kind: str, optimizer: str, hyper: Mapping[str, object], param: np.ndarray,
         grads: Sequence[np.ndarray]) -> dict[str, object]:
    """The replayable record of a check (``nnspec replay``): arrays exact, hyperparameters as JSON."""
    arrays = {"param": param, **{f"grad_{i}": g for i, g in enumerate(grads, 1)}}
    params = {"optimizer": optimizer, "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in hyper.items()}}
    return {"kind": kind, "primitive": optimizer, "arrays": arrays, "params": params, "spec": SPEC}


def run_case(backend: Backend, recorded: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded ``optimizer_steps`` or ``optimizer_trajectory`` case against ``backend`` in ``fmt``
    (resolved by ``checks.run_case``)."""
    arrays, params = recorded["arrays"], recorded["params"]
    grads = [arrays[f"grad_{i}"] for i in range(1, sum(k.startswith("grad_") for k in arrays) + 1)]
    checks = {"optimizer_steps": steps, "optimizer_trajectory": trajectory}
    if recorded["kind"] not in checks:
        raise ValueError(f"run_case: optimizer case kind must be one of {', '.join(checks)}, got {recorded['kind']!r}")
    return checks[recorded["kind"]](backend, params["optimizer"], params["hyper"], arrays["param"], grads,
                                    fmt)
