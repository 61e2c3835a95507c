"""Exhaustive sweeps: every 16-bit input of every elementwise primitive, forward and backward (grad_output = 1).

float16 and bfloat16 have 65,536 bit patterns each (finite, subnormal, +-0, +-inf, NaN): each primitive and
direction is checked at all of them in one backend call, with the per-element budgets, conventions and known
issues of the Hypothesis checks. A failure groups the failing inputs by class, names the worst few of each, and
replays with one command (the worst inputs as a ``forward`` or ``vjp`` case). float32 and float64 are not
exhaustive here: ``nnspec sweep`` streams float32's 2**32 inputs.

Spec: docs/sweeps.md
"""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.conformance import sweep


def _check(checker, primitive: str, direction: str, x: np.ndarray) -> None:
    """Run ``x`` through the Checker's own check, which records it and fails with a replayable case."""
    if direction == "forward":
        checker.forward(primitive, {"x": x})
    else:
        checker.vjp(primitive, {"x": x}, np.ones_like(x))


@pytest.mark.parametrize("direction", sweep.DIRECTIONS)
@pytest.mark.parametrize("primitive", sweep.ELEMENTWISE)
def test_sweep_every_input(checker, primitive, direction):
    """All 65,536 inputs in one call: the forward, or the VJP with grad_output = 1, within budget everywhere."""
    checker.require(primitive, f"sweep {direction}")
    if checker.dtype not in sweep.EXHAUSTIVE:
        pytest.skip(f"not exhaustive: {checker.dtype} has too many inputs for ci (see `nnspec sweep`)")
    judged = sweep.judge(checker.backend, primitive, direction, sweep.values(checker.dtype), checker.fmt)
    name = "output" if direction == "forward" else "grad of x"
    if judged.comparison.ok:
        kind = "forward" if direction == "forward" else "vjp"
        checker.expect({name: judged.comparison}, {"kind": kind, "primitive": primitive, "arrays": {}})
        return
    tallies = sweep.tally(judged, checker.fmt)
    details = ["  failing inputs by class:", *sweep.describe(tallies)]
    try:
        _check(checker, primitive, direction, sweep.worst_inputs(tallies))  # the worst few: a short replay
        _check(checker, primitive, direction, judged.x)  # reached only if the few pass alone: replay them all
        raise AssertionError(f"{primitive} {direction}: the sweep failed ({judged.comparison.describe()}) but "
                             "neither its worst inputs nor all of them fail when checked again")
    except AssertionError as error:
        message = "\n".join([str(error), *details])
        checker.record.message = message
        raise AssertionError(message) from None
