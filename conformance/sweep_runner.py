"""The ``nnspec sweep`` command: a float32 (or any format's) sweep in chunks, over processes, with a progress bar
and a resumable checkpoint; each chunk is judged by nnspec.conformance.sweep.

Spec: docs/sweeps.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnspec.adapters.base import Backend
from nnspec.conformance import checks, runconfig
from nnspec.conformance.sweep import (
    CHECKPOINT_SECONDS,
    CLASSES,
    DIRECTIONS,
    ELEMENTWISE,
    EXHAUSTIVE,
    Tally,
    bit_width,
    describe,
    judge,
    tally,
    values,
    worst_inputs,
)
from nnspec.reference import catalogue, dtypes

__all__ = ["sweep", "add_parser", "main"]

_WORKER: dict[str, Backend] = {}

#: glibc's mallopt parameters (malloc.h): keep freed memory in the heap, up to this many bytes, for the next chunk.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP_BYTES = 32 << 20  # the largest mmap threshold glibc accepts on 64-bit; a chunk's arrays are 2 MiB each


def _keep_freed_memory() -> None:
    """Have glibc's malloc reuse a chunk's freed arrays for the next chunk instead of returning them to the kernel.

    By default glibc serves each array above its mmap threshold (128 KiB, raised only by what was freed) with fresh
    pages and unmaps them when freed, so every chunk page-faults its whole working set again: measured on a
    float32 sigmoid sweep of 2**24 inputs (both directions, --jobs 1), 1.92 s of system time and 977,025 page
    faults, against 0.28 s and 68,518 with the memory kept, and 37 % less time in all (docs/benchmarks.md#
    exhaustive-sweeps). Elsewhere than glibc (no ``mallopt``) nothing changes.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    for parameter, value in ((_M_MMAP_THRESHOLD, _KEEP_BYTES), (_M_TRIM_THRESHOLD, 4 * _KEEP_BYTES),
                             (_M_TOP_PAD, _KEEP_BYTES)):
        mallopt(parameter, value)


def _chunk(backend_spec: tuple[str, str, tuple[tuple[str, str], ...]], primitive: str, direction: str, dtype: str,
           start: int, stop: int) -> tuple[str, int, dict[str, Tally]]:
    """Judge bit patterns [start, stop) in a worker process (its backend is loaded once)."""
    from nnspec.adapters import load_backend
    from nnspec.conformance.guard import GuardedBackend

    key = repr(backend_spec)
    if key not in _WORKER:
        _keep_freed_memory()
        name, device, options = backend_spec  # held to the adapter contract, as in nnspec run (guard.py)
        _WORKER[key] = GuardedBackend(load_backend(name, device, **dict(options)), timeout=None)
    fmt = dtypes.get(dtype)  # the command line's name, resolved where the worker receives it
    return direction, start, tally(judge(_WORKER[key], primitive, direction, values(dtype, start, stop), fmt), fmt)


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
