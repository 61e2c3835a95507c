"""Planted optimizer bugs: a torch optimizer with one term wrong must fail the suite, with a message naming the
optimizer, the tensor and the step, and a case that replays the failure.

Each case runs the real command line (`nnspec run`) in a subprocess, float32, ci profile, on one optimizer's
fixed discriminating cases (per step; deterministic, so every planted term is exercised), and for the first
two also on the Hypothesis-drawn per-step test, whose failure is shrunk to a minimal input.
"""

from __future__ import annotations

import re
import shlex

import pytest

pytest.importorskip("torch")

FIXED, DRAWN = "test_optimizer_every_term", "test_optimizer_steps_match"
MUTANTS = [
    # (class in nnspec.adapters.mutants, optimizer, tests, tensors the message may name first)
    ("AdamWithoutBiasCorrection", "adam", (FIXED, DRAWN), {"param"}),
    ("AdagradEpsInsideSqrt", "adagrad", (FIXED, DRAWN), {"param", "sum"}),
    ("AdamWDecayNotScaledByLr", "adamw", (FIXED,), {"param"}),
    ("SgdMomentumBufferStartedAtZero", "sgd", (FIXED,), {"param", "momentum_buffer"}),
    ("AmsgradRunningMaxNotKept", "adam", (FIXED,), {"param", "max_exp_avg_sq"}),
]


def _replay(path: str):
    from nnspec.adapters import load_backend
    from nnspec.conformance import checks

    case = checks.load_case(path)
    return checks.run_case(load_backend(case["backend"], case["device"], **case["backend_options"]), case)


@pytest.mark.parametrize(("mutant", "optimizer", "tests", "tensors"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_planted_optimizer_bug_fails_naming_tensor_and_step(failing_run, mutant, optimizer, tests, tensors):
    keyword = f"({' or '.join(tests)}) and -{optimizer}]"  # node ids end in [<dtype>-<optimizer>]
    failed = failing_run("--backend", f"nnspec.adapters.mutants:{mutant}", "--dtype", "float32", "--profile", "ci",
                         "-k", keyword)
    assert len(failed) == len(tests) and all(case["primitive"] == optimizer for case in failed), failed
    message = failed[0]["message"]
    named = re.search(rf" float32 {optimizer} [a-z ]+: step (\d+): (\w+) is outside its error budget", message)
    assert named and named.group(2) in tensors, message
    for fragment in ("inputs: param=", "grad_1=", "error/budget", "replay this case: nnspec replay "):
        assert fragment in message, message
    replayed = _replay(shlex.split(failed[0]["replay"])[2])  # `nnspec replay FILE ...`, in this process
    key = f"step {named.group(1)}: {named.group(2)}"
    assert key in replayed and not replayed[key].ok, replayed
