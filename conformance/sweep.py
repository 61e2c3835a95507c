"""Exhaustive sweeps: every input of an elementwise primitive in a floating-point format, judged element by element.

A 16-bit format has 65,536 bit patterns, so the suite checks all of them in one backend call per primitive,
direction and dtype (conformance/test_sweeps.py, part of the ``ci`` profile). float32 has 2**32: ``nnspec sweep``
streams them in chunks (memory stays flat), over processes, with a progress bar and a resumable checkpoint.

Each chunk is judged exactly as the Hypothesis checks judge an example (nnspec.conformance.checks): the backend's
result against the float64 reference evaluated with the backend's declared conventions, under the per-element
budgets of nnspec.conformance.budgets, with the backend's element-wise known issues excused. Failing inputs are
grouped by class (``CLASSES``) and the worst few of each class are kept, for the message and a replayable case.

Spec: docs/sweeps.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import budgets, checks, dtypes, excuses, runconfig
from nnspec.conformance.budgets import Comparison
from nnspec.reference import catalogue

__all__ = ["EXHAUSTIVE", "CLASSES", "DIRECTIONS", "ELEMENTWISE", "values", "classes", "Judged", "judge", "Tally",
           "tally", "describe", "sweep", "add_parser", "main"]

#: Formats whose every bit pattern the ``ci`` profile checks in one call.
EXHAUSTIVE = ("float16", "bfloat16")
#: Input classes, in the order failures are reported: +-0, +-inf and NaN; subnormals; the two lowest binades of
#: normals; the normals between; the two highest binades (near overflow).
CLASSES = ("special", "subnormal", "tiny normal", "normal", "huge")
DIRECTIONS = ("forward", "backward")
ELEMENTWISE = tuple(p.name for p in catalogue.PRIMITIVES if p.kind == "elementwise")
#: How many of the worst failing inputs of each class are kept.
WORST_PER_CLASS = 3
#: ``nnspec sweep`` writes its checkpoint at most this often (and when it stops).
CHECKPOINT_SECONDS = 10.0

_UNSIGNED = {"float16": (np.uint16, np.float16), "float32": (np.uint32, np.float32)}


def bit_width(dtype: str) -> int:
    """Bits of a format's encoding: 16 for float16 and bfloat16, 32 for float32."""
    widths = {"float16": 16, "bfloat16": 16, "float32": 32}
    if dtype not in widths:
        raise ValueError(f"sweep.bit_width: dtype must be one of {', '.join(widths)}, got {dtype!r}")
    return widths[dtype]


def values(dtype: str, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The values of bit patterns ``start`` to ``stop - 1`` of ``dtype`` (every pattern by default), as float64.

    Example:
        >>> values("float16", 0x3C00, 0x3C02).tolist()  # 1.0 and the next float16
        [1.0, 1.0009765625]
    """
    width = bit_width(dtype)
    stop = 2**width if stop is None else stop
    if not 0 <= start <= stop <= 2**width:
        raise ValueError(f"sweep.values: need 0 <= start <= stop <= 2**{width}, got start={start}, stop={stop}")
    if dtype == "bfloat16":  # bfloat16 is the upper half of a float32
        bits, floating = np.arange(start, stop, dtype=np.uint32) << np.uint32(16), np.float32
    else:
        unsigned, floating = _UNSIGNED[dtype]
        bits = np.arange(start, stop, dtype=np.uint64).astype(unsigned)
    with np.errstate(invalid="ignore"):  # signalling NaNs become quiet ones
        return bits.view(floating).astype(np.float64)


def classes(x: np.ndarray, dtype: str) -> np.ndarray:
    """The index in ``CLASSES`` of each value of ``x`` (exact in ``dtype``).

    Example:
        >>> classes(np.array([0.0, 2.0 ** -24, 2.0 ** -14, 1.0, 60000.0, np.nan]), "float16").tolist()
        [0, 1, 2, 3, 4, 0]
    """
    fmt = dtypes.get(dtype)
    magnitude = np.abs(np.asarray(x, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return np.select(
            [(magnitude == 0) | ~np.isfinite(magnitude), magnitude < fmt.tiny, magnitude < 4 * fmt.tiny,
             magnitude < 2.0 ** (fmt.max_exponent - 1)],
            [0, 1, 2, 3], default=4)


@dataclass(frozen=True)
class Judged:
    """One primitive and direction judged at every element of ``x``: what the backend and the reference gave, the
    budget, error/budget (``ratio``, 0 where excused), and where a known issue excused a mismatch."""

    x: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    budget: np.ndarray
    ratio: np.ndarray
    comparison: Comparison
    excused: np.ndarray | None = None


def _reference(primitive: str, direction: str, x: np.ndarray, ref_params: Mapping[str, object],
               dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The float64 reference's value (forward, or the VJP with grad_output = 1) at ``x`` and its budget."""
    module = catalogue.get(primitive).module
    with np.errstate(all="ignore"):
        if direction == "forward":
            return (module.forward(x, **checks._accepted(module.forward, ref_params)),
                    budgets.forward(primitive, {"x": x}, ref_params, dtype))
        ones = np.ones_like(x)
        return (module.backward(x, grad_output=ones, **checks._accepted(module.backward, ref_params)),
                budgets.backward(primitive, {"x": x}, ones, ref_params, dtype)["x"])


def judge(backend: Backend, primitive: str, direction: str, x: np.ndarray, dtype: str) -> Judged:
    """Judge ``backend``'s ``primitive`` (its forward, or its VJP with grad_output = 1) at every element of ``x``,
    as nnspec.conformance.checks.forward / vjp judge an example (same reference, conventions, budgets, excuses).

    One addition, for the inputs those checks never draw: a subnormal input may be read as zero of its sign
    (denormals-are-zero hardware; docs/spec/error-budgets.md#method, docs/sweeps.md#subnormal-inputs), so there
    the backend meets the reference at x or at +-0, whichever it is closer to.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"sweep.judge: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    entry = catalogue.get(primitive)
    if entry.kind != "elementwise":
        raise ValueError(f"sweep.judge: primitive must be elementwise, got {primitive!r} ({entry.kind})")
    params, ref_params = dict(entry.params), checks.reference_params(backend, primitive, {})
    if direction == "forward":
        observed = backend.forward(primitive, {"x": x}, params, dtype)
        excused, ids = excuses.element_mask(backend, primitive, "forward", {"x": x}, params, dtype)
    else:
        observed = backend.vjp(primitive, {"x": x}, params, np.ones_like(x), dtype).get("x")
        excused, ids = excuses.element_mask(backend, primitive, "vjp", {"x": x, "grad_output": np.ones_like(x)},
                                            params, dtype)
    expected, budget = _reference(primitive, direction, x, ref_params, dtype)
    budget = np.array(np.broadcast_to(budget, x.shape))
    overflow = dtypes.get(dtype).overflow
    if observed is None:
        return Judged(x, np.full_like(x, np.nan), expected, budget, np.full_like(x, np.inf),
                      Comparison(float("inf"), problem="the backend returned no gradient for 'x'"))
    observed = np.asarray(observed, dtype=np.float64)
    ratio = budgets.compare_elements(observed, expected, budget, overflow)
    subnormal = np.flatnonzero((x != 0) & (np.abs(x) < dtypes.get(dtype).tiny))
    if subnormal.size:
        at_zero, zero_budget = _reference(primitive, direction, np.copysign(0.0, x[subnormal]), ref_params, dtype)
        zero_budget = np.broadcast_to(zero_budget, subnormal.shape)
        closer = budgets.compare_elements(observed[subnormal], at_zero, zero_budget, overflow) < ratio[subnormal]
        expected, budget = expected.copy(), budget.copy()
        expected[subnormal[closer]], budget[subnormal[closer]] = at_zero[closer], zero_budget[closer]
        ratio = budgets.compare_elements(observed, expected, budget, overflow)
    comparison = budgets.compare(observed, expected, budget, excused, ids, overflow)
    if excused is not None:
        excused = np.broadcast_to(excused, ratio.shape) & (ratio > 1.0)
        ratio = np.where(excused, 0.0, ratio)
    return Judged(x, observed, expected, budget, ratio, comparison, excused)


@dataclass
class Tally:
    """One class of inputs: how many were checked, failed, and mismatched but were excused by the known issues
    ``known``; the worst error/budget, and the worst failures as (ratio, x, observed, expected, budget) tuples."""

    checked: int = 0
    failed: int = 0
    worst_ratio: float = 0.0
    worst: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    excused: int = 0
    known: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.checked += other.checked
        self.failed += other.failed
        self.excused += other.excused
        self.known = sorted(set(self.known) | set(other.known))
        self.worst_ratio = max(self.worst_ratio, other.worst_ratio)
        merged, seen = [], set()
        for w in sorted(self.worst + other.worst, key=lambda w: -w[0]):
            key = "nan" if np.isnan(w[1]) else w[1]
            if key not in seen and len(merged) < WORST_PER_CLASS:
                seen.add(key)
                merged.append(w)
        self.worst = merged


def tally(judged: Judged, dtype: str) -> dict[str, Tally]:
    """Group ``judged``'s elements by input class: counts, worst ratio, and the worst failing inputs."""
    kind = classes(judged.x, dtype)
    result = {}
    for index, name in enumerate(CLASSES):
        members = np.flatnonzero(kind == index)
        ratios = judged.ratio[members]
        failing = members[ratios > 1.0]
        worst = _distinct(judged.x, failing[np.argsort(-judged.ratio[failing], kind="stable")])
        excused = 0 if judged.excused is None else int(np.count_nonzero(judged.excused[members]))
        result[name] = Tally(int(members.size), int(failing.size), float(ratios.max(initial=0.0)),
                             [(float(judged.ratio[i]), float(judged.x[i]), float(judged.observed[i]),
                               float(judged.expected[i]), float(judged.budget[i])) for i in worst],
                             excused, sorted(judged.comparison.known) if excused else [])
    return result


def _distinct(x: np.ndarray, order: np.ndarray) -> list[int]:
    """The first ``WORST_PER_CLASS`` indices of ``order`` with distinct values of ``x`` (NaNs count as one)."""
    seen, kept = set(), []
    for index in order:
        key = "nan" if np.isnan(x[index]) else float(x[index]).hex()
        if key not in seen:
            seen.add(key)
            kept.append(int(index))
            if len(kept) == WORST_PER_CLASS:
                break
    return kept


def describe(tallies: Mapping[str, Tally]) -> list[str]:
    """One line per class with failures: how many of how many inputs fail, and the worst few."""
    lines = []
    for name, t in tallies.items():
        if t.excused:
            lines.append(f"  {name}: {t.excused} of {t.checked} inputs excused by known issues {', '.join(t.known)}")
        if t.failed:
            worst = "; ".join(f"x={x!r}: observed {o!r}, expected {e!r}, error/budget {r:.3g}"
                              for r, x, o, e, _ in t.worst)
            lines.append(f"  {name}: {t.failed} of {t.checked} inputs fail; worst: {worst}")
    return lines


def worst_inputs(tallies: Mapping[str, Tally]) -> np.ndarray:
    """The worst failing inputs of every class, in class order: a small case that replays the failure."""
    return np.array([w[1] for t in tallies.values() for w in t.worst], dtype=np.float64)


# --- nnspec sweep: streamed, parallel, resumable ---------------------------------------------------------------

_WORKER: dict[str, Backend] = {}


def _chunk(backend_spec: tuple[str, str, tuple[tuple[str, str], ...]], primitive: str, direction: str, dtype: str,
           start: int, stop: int) -> tuple[str, int, dict[str, Tally]]:
    """Judge bit patterns [start, stop) in a worker process (its backend is loaded once)."""
    from nnspec.adapters import load_backend
    from nnspec.conformance.guard import GuardedBackend

    key = repr(backend_spec)
    if key not in _WORKER:
        name, device, options = backend_spec  # held to the adapter contract, as in nnspec run (guard.py)
        _WORKER[key] = GuardedBackend(load_backend(name, device, **dict(options)), timeout=None)
    return direction, start, tally(judge(_WORKER[key], primitive, direction, values(dtype, start, stop), dtype), dtype)


def _tallies_to_json(tallies: Mapping[str, Tally]) -> dict:
    return {name: {"checked": t.checked, "failed": t.failed, "worst_ratio": t.worst_ratio,
                   "worst": [[float(v).hex() for v in w] for w in t.worst], "excused": t.excused, "known": t.known}
            for name, t in tallies.items()}


def _tallies_from_json(blob: Mapping) -> dict[str, Tally]:
    return {name: Tally(t["checked"], t["failed"], t["worst_ratio"],
                        [tuple(float.fromhex(v) for v in w) for w in t["worst"]], t.get("excused", 0),
                        t.get("known", [])) for name, t in blob.items()}


@dataclass
class _State:
    """What a sweep has done so far: the chunks finished per direction and their tallies (the checkpoint)."""

    config: dict
    done: dict[str, set[int]]
    tallies: dict[str, dict[str, Tally]]

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        blob = {"config": self.config, "done": {d: sorted(s) for d, s in self.done.items()},
                "tallies": {d: _tallies_to_json(t) for d, t in self.tallies.items()}}
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(blob))
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path | None, config: dict) -> _State:
        fresh = cls(config, {d: set() for d in config["directions"]},
                    {d: {name: Tally() for name in CLASSES} for d in config["directions"]})
        if path is None or not path.exists():
            return fresh
        blob = json.loads(path.read_text())
        if blob["config"] != config:
            raise ValueError(f"sweep: checkpoint {path} is of another sweep ({blob['config']}); "
                             f"remove it or name another file")
        return cls(config, {d: set(s) for d, s in blob["done"].items()},
                   {d: _tallies_from_json(t) for d, t in blob["tallies"].items()})


def sweep(backend: str, primitive: str, dtype: str, *, directions: Sequence[str] = DIRECTIONS,
          device: str = "cpu", backend_options: Mapping[str, str] | None = None, start: int = 0,
          stop: int | None = None, chunk: int = 2**18, jobs: int = 1, checkpoint: Path | None = None,
          progress: bool = False) -> dict[str, dict[str, Tally]]:
    """Judge ``primitive`` of ``backend`` at bit patterns [start, stop) of ``dtype``, ``chunk`` values per backend
    call, over ``jobs`` processes, resuming from (and updating) ``checkpoint``. Returns direction -> class ->
    Tally."""
    catalogue.get(primitive)
    stop = 2 ** bit_width(dtype) if stop is None else stop
    if not 0 <= start <= stop <= 2 ** bit_width(dtype):
        raise ValueError(f"sweep.sweep: need 0 <= start <= stop <= 2**{bit_width(dtype)}, got {start}, {stop}")
    if chunk < 1 or jobs < 1:
        raise ValueError(f"sweep.sweep: chunk and jobs must be >= 1, got chunk={chunk}, jobs={jobs}")
    options = tuple(sorted((backend_options or {}).items()))
    config = {"backend": backend, "device": device, "backend_options": dict(options), "primitive": primitive,
              "dtype": dtype, "directions": list(directions), "start": start, "stop": stop, "chunk": chunk}
    state = _State.load(checkpoint, config)
    todo = [(d, s) for d in directions for s in range(start, stop, chunk) if s not in state.done[d]]
    spec = (backend, device, options)
    saved = time.monotonic()
    try:
        with _Progress(progress, sum(min(chunk, stop - s) for _, s in todo)) as bar:
            for direction, first, tallies in _results(spec, primitive, dtype, todo, chunk, stop, jobs):
                for name, t in tallies.items():
                    state.tallies[direction][name].merge(t)
                state.done[direction].add(first)
                bar.advance(min(chunk, stop - first))
                if time.monotonic() - saved > CHECKPOINT_SECONDS:
                    state.save(checkpoint)
                    saved = time.monotonic()
    finally:  # also when interrupted: what was judged is kept
        state.save(checkpoint)
    return state.tallies


def _results(spec, primitive, dtype, todo, chunk, stop, jobs) -> Iterator[tuple[str, int, dict[str, Tally]]]:
    """Judge the chunks of ``todo``, in this process (jobs = 1) or in a pool with a bounded queue."""
    if jobs == 1:
        for direction, first in todo:
            yield _chunk(spec, primitive, direction, dtype, first, min(first + chunk, stop))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pending: set = set()
    queue = iter(todo)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while True:
            for direction, first in queue:
                pending.add(pool.submit(_chunk, spec, primitive, direction, dtype, first, min(first + chunk, stop)))
                if len(pending) >= 2 * jobs:
                    break
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()


class _Progress:
    """A rich progress bar over values checked (or nothing, when not wanted)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total, self._bar, self._task = enabled, total, None, None
        self._done, self._began = 0, time.perf_counter()

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("sweep"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                                 TextColumn("{task.fields[rate]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn())
            self._bar.start()
            self._task = self._bar.add_task("sweep", total=self.total, rate="")
        return self

    def advance(self, count: int) -> None:
        self._done += count
        if self._bar is not None:
            rate = self._done / max(time.perf_counter() - self._began, 1e-9)
            self._bar.update(self._task, advance=count, rate=f"{rate:,.0f} values/s")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``nnspec sweep`` to the command line's subparsers."""
    parser = subparsers.add_parser("sweep", help="check an elementwise primitive at every input of a dtype")
    parser.add_argument("--backend", default="reference", help="backend (as for nnspec run)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--primitive", required=True, choices=ELEMENTWISE)
    parser.add_argument("--dtype", default="float32", choices=("float32", *EXHAUSTIVE))
    parser.add_argument("--direction", default="both", choices=("forward", "backward", "both"))
    parser.add_argument("--start", type=lambda s: int(s, 0), default=0, help="first bit pattern (default 0)")
    parser.add_argument("--stop", type=lambda s: int(s, 0), default=None,
                        help="one past the last bit pattern (default 2**bits: every input)")
    parser.add_argument("--chunk", type=lambda s: int(s, 0), default=2**18, help="values per backend call")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--checkpoint", type=Path, default=None, help="resume from and update this JSON file")
    parser.add_argument("--case-dir", type=Path, default=Path(".nnspec-failures"),
                        help="where a failing sweep writes its replayable case")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``nnspec sweep``: print per class what was checked and failed; exit 1 on any failure."""
    if any("=" not in item for item in args.backend_option):
        raise ValueError(f"nnspec sweep: --backend-option must be KEY=VALUE, got {args.backend_option}")
    options = dict(item.split("=", 1) for item in args.backend_option)
    directions = DIRECTIONS if args.direction == "both" else (args.direction,)
    began = time.perf_counter()
    result = sweep(args.backend, args.primitive, args.dtype, directions=directions, device=args.device,
                   backend_options=options, start=args.start, stop=args.stop, chunk=args.chunk, jobs=args.jobs,
                   checkpoint=args.checkpoint, progress=not args.no_progress)
    seconds = time.perf_counter() - began
    failed = False
    for direction, tallies in result.items():
        checked = sum(t.checked for t in tallies.values())
        worst = max(t.worst_ratio for t in tallies.values())
        failures = sum(t.failed for t in tallies.values())
        verdict = "FAIL" if failures else "ok"
        print(f"{args.backend} ({args.device}) {args.dtype} {args.primitive} {direction}: {verdict}: "
              f"{checked:,} inputs, {failures:,} fail, worst error/budget {worst:.3g}")
        print("\n".join(describe(tallies)) or "  every class within budget")
        if failures:
            failed = True
            words = ["nnspec", "replay", str(_save_case(args, options, direction, tallies))]
            if not runconfig.nameable_in_case(args.backend):  # a case file names only installed backends
                words += ["--backend", args.backend]
            print(f"  replay: {shlex.join(words)}")
    print(f"{seconds:.1f} s this run")
    return 1 if failed else 0


def _save_case(args: argparse.Namespace, options: Mapping[str, str], direction: str,
               tallies: Mapping[str, Tally]) -> Path:
    """A case file of the worst failing inputs, in the kinds ``nnspec replay`` runs (forward, vjp)."""
    x = worst_inputs(tallies)
    case = {"kind": "forward" if direction == "forward" else "vjp", "primitive": args.primitive,
            "arrays": {"x": x}, "params": {}, "dtype": args.dtype, "backend": args.backend, "device": args.device,
            "backend_options": dict(options), "test": "nnspec sweep"}
    if direction == "backward":
        case["grad_output"] = np.ones_like(x)
    name = f"sweep-{args.backend}-{args.primitive}-{args.dtype}-{direction}.json".replace(":", "_")
    return checks.save_case(args.case_dir / name, case)
