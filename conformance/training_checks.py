"""Checks of dropout, early stopping and the training step, as plain functions of (backend, inputs): the tests
call them, and ``nnspec replay`` re-runs a recorded case through :func:`run_case`.

Dropout's masks differ by framework and device, so its checks judge the law, not the bits: every element is
either kept (x / (1 - p) within the dropout room's ``scale_budget``) or dropped (exactly the spec's dropped value), and
counts of kept elements must lie in binomial acceptance intervals whose false-alarm rate is
``errormodel.FALSE_ALARM_PER_CHECK``. Spec: docs/spec/dropout.md, docs/spec/early-stopping.md, docs/spec/training.md
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import dropout as dropout_room
from nnspec.conformance import minibatch as minibatch_room
from nnspec.conformance import network as network_room
from nnspec.conformance import optimizer_checks
from nnspec.conformance import training as training_room
from nnspec.conformance.comparison import Comparison, compare, elementwise_ratio, exact
from nnspec.conformance.errormodel import sum_of_budgets
from nnspec.reference import dropout, dtypes, early_stopping, network, training

__all__ = ["STATISTICAL_SHAPE", "STREAM_CALLS", "statistical_input", "dropout_values", "dropout_statistic",
           "dropout_stream_statistic", "early_stopping_run", "training_step", "micro_batches", "permuted_batch",
           "epoch", "run_case"]

#: 2**17 elements: a keep rate off by 1 point is 7 standard deviations away at p = 0.5, so the binomial checks
#: catch it while keeping their false-alarm rate at FALSE_ALARM_PER_CHECK; one call costs about a millisecond.
STATISTICAL_SHAPE = (256, 512)


def statistical_input(x_seed: int, fmt: dtypes.Format) -> np.ndarray:
    """The large input of the statistical checks: positive values in [0.5, 2] (so y == 0 exactly when dropped,
    and the mean is far from 0), exact in ``fmt``, reproducible from ``x_seed``. The generator's entropy is
    (x_seed, 1), so its stream never coincides with a backend's numpy Generator seeded with a plain seed."""
    values = np.random.default_rng([x_seed, 1]).uniform(0.5, 2.0, STATISTICAL_SHAPE)
    return fmt.round(values)


def _convention(backend: Backend) -> str:
    return str(backend.capabilities().conventions.get("dropout", {}).get("dropped_value", "zero"))


def dropout_values(backend: Backend, x: np.ndarray, p: float, training: bool, seed: int, fmt: dtypes.Format,
                   grad_output: np.ndarray | None = None) -> dict[str, Comparison]:
    """Each output element (and its gradient) is the kept value x / (1 - p) (g / (1 - p)) or the dropped value
    of the declared convention (0, or x * 0), decided per element by whichever of the two the backend matches;
    in eval mode and at p = 0 the output is x and the gradient g, exactly."""
    observed, observed_grad = backend.dropout(x, p, training, seed, fmt.name, grad_output)
    return _judge_dropout(backend, x, p, training, fmt, observed, grad_output, observed_grad)


def _judge_dropout(backend: Backend, x: np.ndarray, p: float, training: bool, fmt: dtypes.Format, observed: np.ndarray,
                   grad_output: np.ndarray | None = None, observed_grad: np.ndarray | None = None
                   ) -> dict[str, Comparison]:
    """``dropout_values``'s verdict on an output (and gradient) the backend already computed."""
    shape, identity = np.shape(x), not training or p == 0.0
    if identity or np.shape(observed) != shape or (grad_output is not None and np.shape(observed_grad) != shape):
        comparisons = {"output": compare(observed, x if identity else np.zeros(shape), exact(shape))}
        if grad_output is not None:
            comparisons["grad of x"] = compare(observed_grad, grad_output if identity else np.zeros(shape),
                                               exact(shape))
        return comparisons
    convention, none, every = _convention(backend), np.zeros(shape, dtype=bool), np.ones(shape, dtype=bool)
    keep = every if p < 1.0 else none  # at p = 1 nothing can be kept: the "kept" outcome is the dropped one
    # (name, observed, dropped value, kept value, budget of the kept value)
    parts = [("output", observed, dropout.forward(x, p, none, True, convention), dropout.forward(x, p, keep, True,
              convention), dropout_room.scale_budget(x, p, fmt) if p < 1.0 else exact(shape))]
    if grad_output is not None:
        parts.append(("grad of x", observed_grad, dropout.backward(grad_output, p, none, True, convention),
                      dropout.backward(grad_output, p, keep, True, convention),
                      dropout_room.scale_budget(grad_output, p, fmt) if p < 1.0 else exact(shape)))
    ratio_dropped = sum(elementwise_ratio(obs, dropped, 0.0) for _, obs, dropped, _, _ in parts)
    ratio_kept = sum(elementwise_ratio(obs, kept, budget) for _, obs, _, kept, budget in parts)
    is_dropped = ratio_dropped <= ratio_kept
    return {name: compare(obs, np.where(is_dropped, dropped, kept), np.where(is_dropped, 0.0, budget))
            for name, obs, dropped, kept, budget in parts}


def _kept(backend: Backend, x: np.ndarray, p: float, seed: int, fmt: dtypes.Format) -> np.ndarray:
    y, _ = backend.dropout(x, p, True, seed, fmt.name)
    return np.asarray(y).reshape(x.shape) != 0


def dropout_statistic(backend: Backend, statistic: str, p: float, seed: int, x_seed: int,
                      fmt: dtypes.Format) -> dict[str, Comparison]:
    """One statistical property of the backend's dropout on the large input of ``statistical_input``:
    "keep_rate", "mean", "independent_elements", "independent_calls" or "same_seed"."""
    x, q = statistical_input(x_seed, fmt), 1.0 - p
    if statistic == "keep_rate":
        return {"number of kept elements": dropout_room.binomial(int(_kept(backend, x, p, seed, fmt).sum()), x.size,
                                                                 q)}
    if statistic == "mean":
        y, _ = backend.dropout(x, p, True, seed, fmt.name)
        return {"mean of the output": compare(np.mean(y), np.mean(x), dropout_room.mean_budget(x, p, fmt))}
    if statistic == "independent_elements":
        kept = _kept(backend, x, p, seed, fmt)
        across = kept[:, 0::2] & kept[:, 1::2]
        down = kept[0::2, :] & kept[1::2, :]
        return {"neighbours along the last axis both kept": dropout_room.binomial(int(across.sum()), across.size,
                                                                                  q * q),
                "neighbours along the first axis both kept": dropout_room.binomial(int(down.sum()), down.size, q * q)}
    if statistic == "independent_calls":
        both = _kept(backend, x, p, seed, fmt) & _kept(backend, x, p, seed + 1, fmt)
        return {"kept in both calls (seeds s, s + 1)": dropout_room.binomial(int(both.sum()), both.size, q * q)}
    if statistic == "same_seed":
        first, _ = backend.dropout(x, p, True, seed, fmt.name)
        second, _ = backend.dropout(x, p, True, seed, fmt.name)
        return {"second call with the same seed": compare(second, first, exact(np.shape(first)))}
    raise ValueError(f"dropout_statistic: statistic must be keep_rate, mean, independent_elements, "
                     f"independent_calls or same_seed, got {statistic!r}")


#: Calls of one layer in a stream check: every pair of the 4 (6 pairs) is compared, so a stream that repeats a
#: mask every call, every other call or every third call fails.
STREAM_CALLS = 4

_STREAM_STATISTICS = ("values", "keep_rate", "independent_calls", "same_seed")


#: Where a stream's outputs come from: one layer called n times (``Backend.dropout_stream``), or one model's
#: dropout layer at each of n training steps of the framework's own training loop
#: (``Backend.dropout_training_stream``, docs/spec/dropout.md#training-stream).
STREAM_SOURCES = ("dropout_stream", "dropout_training_stream")


def _stream(backend: Backend, x: np.ndarray, p: float, n_calls: int, seed: int | None,
            fmt: dtypes.Format, source: str = "dropout_stream") -> tuple[list[np.ndarray], dict[str, Comparison]]:
    """The stream's outputs, and a failed comparison if they are not n_calls arrays of x's shape."""
    if source not in STREAM_SOURCES:
        raise ValueError(f"dropout_stream_statistic: source must be one of {', '.join(STREAM_SOURCES)}, "
                         f"got {source!r}")
    outputs = [np.asarray(y, dtype=np.float64) for y in getattr(backend, source)(x, p, n_calls, seed, fmt.name)]
    if len(outputs) == n_calls and all(y.shape == x.shape for y in outputs):
        return outputs, {}
    problem = f"{n_calls} outputs of shape {x.shape} expected, got {[y.shape for y in outputs]}"
    return outputs, {"outputs of the stream": Comparison(float("inf"), problem=problem)}


def dropout_stream_statistic(backend: Backend, statistic: str, p: float, seed: int | None, x_seed: int,
                             fmt: dtypes.Format, n_calls: int = STREAM_CALLS,
                             source: str = "dropout_stream") -> dict[str, Comparison]:
    """One property of the outputs of ONE dropout layer called ``n_calls`` times in training mode
    (``Backend.dropout_stream``, seeded once; docs/spec/dropout.md#stream) on the large input of
    ``statistical_input``:

    - "values": every output element is the kept x / (1 - p) or the dropped value (``dropout_values``'s rule);
    - "keep_rate": each call's number of kept elements lies in the Bin(n, q) acceptance interval;
    - "independent_calls": for every pair of calls i < j, the number kept in both lies in the Bin(n, q^2)
      interval (a mask repeated, or correlated, across calls of one layer gives about n q);
    - "same_seed": a second stream seeded alike repeats the first exactly (not for ``seed=None``).

    ``source`` "dropout_training_stream" takes the outputs from n training steps of one model instead
    (``Backend.dropout_training_stream``): a training loop must draw a fresh mask at every step.

    The counts of "keep_rate" (n_calls of them) and of "independent_calls" (n_calls (n_calls - 1) / 2) are each
    judged as one family (the dropout room's ``binomial_in_family``): each of the two fails a correct backend with
    probability at most ``errormodel.FALSE_ALARM_PER_CHECK``.
    """
    if statistic not in _STREAM_STATISTICS:
        raise ValueError(f"dropout_stream_statistic: statistic must be one of {', '.join(_STREAM_STATISTICS)}, "
                         f"got {statistic!r}")
    if isinstance(n_calls, bool) or not isinstance(n_calls, int) or n_calls < 2:
        raise ValueError(f"dropout_stream_statistic: n_calls must be an integer >= 2, got {n_calls!r}")
    if statistic == "same_seed" and seed is None:
        raise ValueError("dropout_stream_statistic: seed must be an integer for 'same_seed', got None")
    x, q = statistical_input(x_seed, fmt), 1.0 - p
    outputs, wrong = _stream(backend, x, p, n_calls, seed, fmt, source)
    if wrong:
        return wrong
    if statistic == "same_seed":
        again, wrong = _stream(backend, x, p, n_calls, seed, fmt, source)
        return wrong or {f"call {i} of a second stream seeded alike": compare(
            second, first, exact(x.shape)) for i, (first, second) in enumerate(zip(outputs, again))}
    if statistic == "values":
        return {f"call {i} output": _judge_dropout(backend, x, p, True, fmt, y)["output"]
                for i, y in enumerate(outputs)}
    kept = [y != 0 for y in outputs]
    if statistic == "keep_rate":
        return {f"number of kept elements in call {i}": dropout_room.binomial_in_family(int(k.sum()), x.size, q,
                                                                                        n_calls)
                for i, k in enumerate(kept)}
    pairs = [(i, j) for i in range(n_calls) for j in range(i + 1, n_calls)]
    return {f"kept in both calls {i} and {j}": dropout_room.binomial_in_family(int((kept[i] & kept[j]).sum()),
                                                                                x.size, q * q, len(pairs))
            for i, j in pairs}


def early_stopping_run(backend: Backend, losses: Sequence[float], rules: Mapping[str, object]) -> dict:
    """The backend's stop epoch and restored epoch on a scripted curve, exactly those of the reference
    (-1 stands for "never stopped": every epoch ran)."""
    observed = backend.early_stopping([float(v) for v in losses], dict(rules))
    conventions = backend.capabilities().conventions.get("early_stopping", {})  # Keras: improvement_postpones
    expected = early_stopping.run([float(v) for v in losses], **rules, **conventions)
    code = lambda epoch: np.asarray(-1.0 if epoch is None else float(epoch))  # noqa: E731
    return {"stopped epoch": compare(code(observed.stopped_epoch), code(expected.stopped_epoch), exact()),
            "restored epoch": compare(code(observed.restored_epoch), code(expected.restored_epoch), exact())}


def _layers(backend: Backend, layers) -> tuple[list[network.Layer], list[network.Layer]]:
    """(the layers sent to the backend, the reference's layers with the backend's activation conventions)."""
    conventions = backend.capabilities().conventions
    sent = [network.Layer(np.asarray(w), None if b is None else np.asarray(b), act) for w, b, act in layers]
    return sent, [network.Layer(layer.weight, layer.bias, layer.activation, dict(conventions.get(layer.activation, {})))
                  for layer in sent]


def training_step(backend: Backend, layers, masks, x, target, loss: str, loss_params: Mapping[str, object],
                  hyper: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """One SGD step of the backend's real modules against ``reference.training.step``: the loss before the
    step and every parameter after it, within the training room's ``step_budget``."""
    sent, reference_layers = _layers(backend, layers)
    masks = list(masks) if masks is not None else [None] * len(sent)
    value, params = backend.training_step(sent, x, target, loss, dict(loss_params), "sgd", dict(hyper), fmt.name, masks)
    # the loss's last-axis step, where the backend declares one (docs/spec/losses.md#last-axis)
    conventions = backend.capabilities().conventions.get(loss, {})
    loss_params = {**loss_params, **{k: v for k, v in conventions.items() if k == "last_axis"}}
    # the declared conventions, and hyperparameters as the framework uses them (Keras: float32-rounded momentum and
    # weight decay, docs/spec/optimizers.md#float32-hyperparameters); precision facts are no reference keywords
    reference_hyper = optimizer_checks.reference_keywords("sgd", hyper, optimizer_checks.declared(backend, "sgd"))
    expected = training.step(reference_layers, x, target, loss=loss, loss_params=loss_params, optimizer="sgd",
                             hyper=reference_hyper, dropout_masks=masks)
    budget = training_room.step_budget(reference_layers, masks, x, target, loss, loss_params, reference_hyper, fmt)
    comparisons = {"loss before the step": compare(np.asarray(value), np.asarray(expected.loss), budget["loss"])}
    for i, ((weight, bias), layer) in enumerate(zip(params, expected.layers)):
        comparisons[f"layers[{i}].weight after the step"] = compare(weight, layer.weight, budget["weights"][i])
        if layer.bias is not None:
            comparisons[f"layers[{i}].bias after the step"] = compare(bias, layer.bias, budget["biases"][i])
    return comparisons


def _gradients(result) -> dict[str, np.ndarray]:
    named = {"loss": np.asarray(result.loss)}
    for i, (w, b) in enumerate(zip(result.weight_grads, result.bias_grads)):
        named[f"grad of layers[{i}].weight"], named[f"grad of layers[{i}].bias"] = w, b
    return named


def _budgets(bound: dict) -> dict[str, np.ndarray]:
    named = {"loss": np.asarray(bound["loss"])}
    for i, (w, b) in enumerate(zip(bound["weights"], bound["biases"])):
        named[f"grad of layers[{i}].weight"], named[f"grad of layers[{i}].bias"] = w, b
    return named


def micro_batches(backend: Backend, layers, x, target, loss: str, sizes: Sequence[int],
                  fmt: dtypes.Format) -> dict[str, Comparison]:
    """k micro-batches' mean losses and gradients, weighted by their sizes, equal the whole batch's."""
    sent, reference_layers = _layers(backend, layers)
    params = {"reduction": "mean"}
    starts = np.cumsum([0, *sizes])
    slices = [slice(int(a), int(b)) for a, b in zip(starts, starts[1:])]
    full = _gradients(backend.network(sent, x, target, loss, params, fmt.name))
    parts = [_gradients(backend.network(sent, x[s], target[s], loss, params, fmt.name)) for s in slices]
    full_budget = _budgets(network_room.budget(reference_layers, x, target, loss, params, fmt))
    part_budgets = [_budgets(network_room.budget(reference_layers, x[s], target[s], loss, params, fmt))
                    for s in slices]
    total = sum(sizes)
    comparisons = {}
    for name, value in full.items():
        accumulated = sum(n / total * np.asarray(part[name], dtype=np.float64) for n, part in zip(sizes, parts))
        budget = minibatch_room.accumulated_mean(full_budget[name], [b[name] for b in part_budgets],
                                                 [part[name] for part in parts], list(sizes))
        comparisons[f"accumulated {name}"] = compare(accumulated, value, budget)
    return comparisons


def permuted_batch(backend: Backend, layers, x, target, loss: str, permutation: Sequence[int],
                   fmt: dtypes.Format) -> dict[str, Comparison]:
    """The mean loss and gradients do not depend on the order of the examples in the batch."""
    sent, reference_layers = _layers(backend, layers)
    params, order = {"reduction": "mean"}, np.asarray(permutation, dtype=np.int64)
    original = _gradients(backend.network(sent, x, target, loss, params, fmt.name))
    permuted = _gradients(backend.network(sent, x[order], target[order], loss, params, fmt.name))
    budget = _budgets(network_room.budget(reference_layers, x, target, loss, params, fmt))
    budget_permuted = _budgets(network_room.budget(reference_layers, x[order], target[order], loss, params, fmt))
    return {f"{name} of the permuted batch": compare(permuted[name], original[name],
                                                     sum_of_budgets(budget[name], budget_permuted[name]))
            for name in original}


def epoch(backend: Backend, n_examples: int, batch_size: int, shuffle: bool, drop_last: bool,
          seed: int) -> dict[str, Comparison]:
    """One epoch of the backend's data loading: every example once (with drop_last, the examples of the full
    batches once), batches of batch_size but the last, 0..n-1 in order without shuffle, the same order for the
    same seed and, shuffled, another order for another seed."""
    batches = [np.asarray(b, dtype=np.int64).ravel() for b in backend.epoch_batches(n_examples, batch_size, shuffle,
                                                                                    drop_last, seed)]
    order = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    full, rest = divmod(n_examples, batch_size)
    sizes = [batch_size] * full + ([] if drop_last or rest == 0 else [rest])
    visits = np.bincount(order[order >= 0], minlength=n_examples)
    visited = full * batch_size if drop_last else n_examples
    again = [np.asarray(b).ravel() for b in backend.epoch_batches(n_examples, batch_size, shuffle, drop_last, seed)]
    again = np.concatenate(again) if again else np.zeros(0, dtype=np.int64)
    comparisons = {
        "visits per example (sorted)": compare(np.sort(visits)[::-1],
                                               (np.arange(n_examples) < visited).astype(float), exact()),
        "batch sizes": compare(np.array([b.size for b in batches], dtype=float), np.array(sizes, dtype=float),
                               exact()),
        "order with the same seed": compare(again, order, exact()),
    }
    if not shuffle:
        comparisons["order without shuffle"] = compare(order, np.arange(visited), exact())
    if shuffle and not drop_last and n_examples >= minibatch_room.distinct_orders_min_examples():
        other = np.concatenate([np.asarray(b).ravel() for b in backend.epoch_batches(
            n_examples, batch_size, shuffle, drop_last, seed + 1)])
        identical = float(other.shape == order.shape and bool(np.all(other == order)))
        comparisons["order with another seed is another order (1 if identical)"] = compare(
            np.asarray(identical), np.asarray(0.0), exact())
    return comparisons


def _case_layers(case: Mapping[str, object]) -> list:
    arrays, activations = case["arrays"], case["params"]["activations"]
    return [(arrays[f"weight{i}"], arrays[f"bias{i}"], act) for i, act in enumerate(activations)]


def run_case(backend: Backend, case: Mapping[str, object], fmt: dtypes.Format) -> dict[str, Comparison]:
    """Re-run a recorded dropout, early-stopping or training case against ``backend`` in ``fmt`` (resolved by
    ``checks.run_case``)."""
    kind, arrays, params = case["kind"], case["arrays"], case["params"]
    if kind == "dropout_values":
        return dropout_values(backend, arrays["x"], params["p"], params["training"], params["seed"], fmt,
                              case.get("grad_output"))
    if kind.startswith("dropout_stream_"):
        return dropout_stream_statistic(backend, kind.removeprefix("dropout_stream_"), params["p"], params["seed"],
                                        params["x_seed"], fmt, params["n_calls"],
                                        params.get("source", "dropout_stream"))
    if kind.startswith("dropout_"):
        return dropout_statistic(backend, kind.removeprefix("dropout_"), params["p"], params["seed"],
                                 params["x_seed"], fmt)
    if kind == "early_stopping":
        return early_stopping_run(backend, arrays["losses"], params["rules"])
    if kind == "training_step":
        masks = [arrays.get(f"mask{i}") for i in range(len(params["activations"]))]
        return training_step(backend, _case_layers(case), masks, arrays["x"], arrays["target"], params["loss"],
                             {"reduction": params["reduction"]}, params["hyper"], fmt)
    if kind == "training_micro_batches":
        return micro_batches(backend, _case_layers(case), arrays["x"], arrays["target"], params["loss"],
                             params["sizes"], fmt)
    if kind == "training_permuted_batch":
        return permuted_batch(backend, _case_layers(case), arrays["x"], arrays["target"], params["loss"],
                              params["permutation"], fmt)
    if kind == "training_epoch":
        return epoch(backend, params["n_examples"], params["batch_size"], params["shuffle"], params["drop_last"],
                     params["seed"])
    raise ValueError(f"training_checks.run_case: unknown case kind {kind!r}")
