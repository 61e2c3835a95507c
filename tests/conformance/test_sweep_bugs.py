"""Exhaustive sweeps: the bit patterns and classes are the format's, the per-element judgement is the suite's own,
planted bugs at a single float16 input (or one binade) fail the ``ci`` run with a replayable case, and
``nnspec sweep`` streams a range in chunks with a resumable checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shlex

import numpy as np
import pytest

from nnspec.adapters import load_backend
from nnspec.adapters.base import KnownIssue
from nnspec.adapters.reference_backend import ReferenceBackend
from nnspec.conformance import checks, sweep, sweep_runner
from nnspec.conformance.comparison import compare, compare_elements
from nnspec.reference import dtypes

HALF = dtypes.FORMATS["float16"]
# Class sizes from the IEEE layouts alone: float16 has 10 fraction bits (1,024 values per binade and sign),
# exponents -14..15, 2 zeros, 2 infinities and 2 * 1,023 NaNs; bfloat16 has 7 fraction bits (128 per binade),
# exponents -126..127 and 2 * 127 NaNs. Tiny normal and huge are two binades each, of both signs.
CLASS_SIZES = {
    "float16": {"special": 2 + 2 + 2046, "subnormal": 2046, "tiny normal": 4 * 1024, "huge": 4 * 1024},
    "bfloat16": {"special": 2 + 2 + 254, "subnormal": 254, "tiny normal": 4 * 128, "huge": 4 * 128},
}


@pytest.mark.parametrize("dtype", sweep.EXHAUSTIVE)
def test_values_are_every_bit_pattern_once_and_classes_have_the_format_sizes(dtype):
    x = sweep.values(dtype)
    assert x.shape == (65536,)
    with np.errstate(invalid="ignore"):
        bits = x.astype(np.float32).view(np.uint32) >> 16 if dtype == "bfloat16" else x.astype(np.float16).view(
            np.uint16)
    finite = np.isfinite(x) | np.isinf(x)
    assert np.array_equal(bits[finite], np.arange(65536)[finite])  # NaN payloads are not kept through float64
    kinds = sweep.classes(x, dtypes.FORMATS[dtype])
    counts = dict(zip(sweep.CLASSES, np.bincount(kinds, minlength=len(sweep.CLASSES)).tolist()))
    expected = CLASS_SIZES[dtype]
    assert counts == {**expected, "normal": 65536 - sum(expected.values())}


def test_compare_elements_agrees_with_compare():
    rng = np.random.default_rng(0)
    expected = np.concatenate([rng.normal(size=200), [np.nan, np.inf, -np.inf, 65500.0, -65500.0, 1.0]])
    observed = expected + rng.normal(scale=0.01, size=expected.shape)
    observed[-6:] = [np.nan, np.inf, np.inf, np.inf, -np.inf, np.nan]
    budget = np.concatenate([np.full(200, 0.02), [0.0, 0.0, 0.0, 32.0, 32.0, np.nan]])
    excused = np.zeros(expected.shape, dtype=bool)
    excused[[3, 7]] = True
    for overflow in (None, 65520.0):
        ratios = compare_elements(observed, expected, budget, overflow)
        comparison = compare(observed, expected, budget, excused, ("x",), overflow)
        assert np.max(np.where(excused, 0.0, ratios)) == comparison.ratio
        assert comparison.ratio == np.inf  # the inf against -inf and the NaN where 1.0 was due
    # +-65500 within 32 of float16's overflow threshold 65520: +-inf meets them only when overflow is given
    assert compare_elements(observed, expected, budget, 65520.0)[-3:-1].tolist() == [0.0, 0.0]
    assert compare_elements(observed, expected, budget)[-3:-1].tolist() == [np.inf, np.inf]


@pytest.mark.parametrize("backend_name", ["reference", "torch"])
@pytest.mark.parametrize("direction", sweep.DIRECTIONS)
def test_judge_gives_the_checks_verdict(backend_name, direction):
    """Away from subnormal inputs (which the checks never draw), sweep.judge's comparison is exactly
    checks.forward / checks.vjp's, and its ratios have that maximum."""
    if backend_name == "torch":
        pytest.importorskip("torch")
    backend, x = load_backend(backend_name, "cpu"), sweep.values("float16")
    x = x[sweep.classes(x, HALF) != sweep.CLASSES.index("subnormal")]
    for primitive in sweep.ELEMENTWISE:
        judged = sweep.judge(backend, primitive, direction, x, HALF)
        if direction == "forward":
            expected = checks.forward(backend, primitive, {"x": x}, {}, HALF)
        else:
            expected = checks.vjp(backend, primitive, {"x": x}, {}, np.ones_like(x), HALF)["x"]
        assert judged.comparison == expected, primitive
        assert float(np.max(judged.ratio)) == expected.ratio, primitive


class _ReadsSubnormalsAs(ReferenceBackend):
    """The reference, but its backward reads every float16 subnormal input as ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__("cpu")
        self.value = value

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        x = arrays["x"]
        x = np.where((x != 0) & (np.abs(x) < 2.0**-14), self.value, x)
        return super().vjp(primitive, {"x": x}, params, grad_output, dtype)


@pytest.mark.parametrize("primitive", ["relu", "leaky_relu"])
def test_a_subnormal_input_may_read_as_zero_and_as_nothing_else(primitive):
    """At a subnormal x the derivative may be the one at +-0 (denormals-are-zero hardware), but reading x as a
    normal number is wrong: read as 1, the 1,023 negative subnormals get relu'(1) = 1 (spec: 0) and
    leaky_relu'(1) = 1 (spec: the slope)."""
    x = sweep.values("float16")
    assert sweep.judge(_ReadsSubnormalsAs(0.0), primitive, "backward", x, HALF).comparison.ok
    misread = sweep.tally(sweep.judge(_ReadsSubnormalsAs(1.0), primitive, "backward", x, HALF), HALF)
    assert misread["subnormal"].failed == 1023


class _PassesGradientAtNan(ReferenceBackend):
    """The reference, but relu'(NaN) = 1 (PyTorch's behaviour), declared as a known issue."""

    known_issues = (KnownIssue("test-relu-grad-at-nan", "relu", "vjp", lambda a, p, d: np.isnan(a["x"]),
                               "relu'(NaN) is 1", "nowhere"),)

    def vjp(self, primitive, arrays, params, grad_output, dtype):
        grads = super().vjp(primitive, arrays, params, grad_output, dtype)
        return {"x": np.where(np.isnan(arrays["x"]), grad_output, grads["x"])}


def test_excused_inputs_are_counted_not_hidden():
    tallies = sweep.tally(sweep.judge(_PassesGradientAtNan(), "relu", "backward", sweep.values("float16"), HALF),
                          HALF)
    special = tallies["special"]
    assert (special.failed, special.excused, special.known) == (0, 2046, ["test-relu-grad-at-nan"])
    assert sweep.describe(tallies) == ["  special: 2046 of 2050 inputs excused by known issues test-relu-grad-at-nan"]


SWEEP_BUGS = [
    ("SigmoidWrongAtLargestSubnormal", "float16", "sigmoid", "forward", "subnormal", 1, "6.097555160522461e-05"),
    ("TanhGradNanInOneBinade", "float16", "tanh", "backward", "normal", 1024, "0.125"),
]


@pytest.mark.parametrize(("mutant", "dtype", "primitive", "direction", "group", "count", "first"), SWEEP_BUGS,
                         ids=[bug[0] for bug in SWEEP_BUGS])
def test_planted_bug_at_a_few_inputs_fails_the_ci_sweep(failing_run, nnspec_here, tmp_path, mutant, dtype, primitive,
                                                         direction, group, count, first):
    pytest.importorskip("torch")
    failed = failing_run("--backend", f"nnspec.adapters.mutants_sweep:{mutant}", "--profile", "ci", "--dtype", dtype,
                         "-k", "sweep")
    case = next(c for c in failed if c["property"] == f"sweep {direction}")
    assert (case["primitive"], case["dtype"]) == (primitive, dtype)
    message = case["message"]
    for fragment in (f" {dtype} {primitive} ", f"inputs: x=[{first}", "error/budget",
                     f"  {group}: {count} of ", "replay this case: nnspec replay "):
        assert fragment in message, message
    words = shlex.split(case["replay"])  # nnspec replay CASE [--backend ...]
    replay = nnspec_here(*words[1:], cwd=tmp_path)
    assert replay.returncode == 1 and "FAIL" in replay.stdout, replay.stdout + replay.stderr
    against_torch = nnspec_here("replay", words[2], "--backend", "torch", cwd=tmp_path)
    assert against_torch.returncode == 0, against_torch.stdout + against_torch.stderr


def _sweep_args(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sweep_runner.add_parser(parser.add_subparsers())
    return parser.parse_args(["sweep", "--no-progress", "--jobs", "1", *words])


def test_nnspec_sweep_streams_a_float32_range_and_resumes_from_its_checkpoint(tmp_path, capsys, monkeypatch):
    checkpoint = tmp_path / "relu.json"
    words = ("--primitive", "relu", "--start", "0x3F800000", "--stop", "0x3F808000", "--chunk", "4096",
             "--checkpoint", str(checkpoint), "--case-dir", str(tmp_path))
    judged, chunk = [], sweep_runner._chunk

    def interrupted_after_three(*args):
        if len(judged) == 3:
            raise KeyboardInterrupt
        judged.append(args[2:5:2])  # (direction, first bit pattern)
        return chunk(*args)

    monkeypatch.setattr(sweep_runner, "_chunk", interrupted_after_three)
    with pytest.raises(KeyboardInterrupt):
        sweep_runner.main(_sweep_args(*words))
    monkeypatch.setattr(sweep_runner, "_chunk", lambda *args: judged.append(args[2:5:2]) or chunk(*args))
    assert sweep_runner.main(_sweep_args(*words)) == 0  # resumes: the 16 chunks (8 per direction) are each judged once
    assert len(judged) == len(set(judged)) == 16
    saved = json.loads(checkpoint.read_text())
    assert saved["done"] == {d: list(range(0x3F800000, 0x3F808000, 4096)) for d in sweep.DIRECTIONS}
    assert saved["tallies"]["forward"]["normal"]["checked"] == 0x8000
    assert sweep_runner.main(_sweep_args(*words)) == 0 and len(judged) == 16  # all done: nothing is judged again
    assert "32,768 inputs, 0 fail" in capsys.readouterr().out
    with pytest.raises(ValueError, match="checkpoint"):
        sweep_runner.main(_sweep_args(*words[:-4], "--primitive", "tanh", "--checkpoint", str(checkpoint)))


@pytest.mark.parametrize("mutant", ["SigmoidWrongAtLargestSubnormal", "SigmoidWrongOnVectorsAtLargestSubnormal"])
def test_nnspec_sweep_failure_writes_a_case_that_replays(tmp_path, capsys, nnspec_here, mutant):
    """The case repeats the worst inputs up to 16 entries, so a defect of the vectorised path (the second mutant
    is right on one element) replays too."""
    pytest.importorskip("torch")
    words = ("--backend", f"nnspec.adapters.mutants_sweep:{mutant}", "--primitive", "sigmoid",
             "--dtype", "float16", "--direction", "forward", "--stop", "0x0400", "--chunk", "512",
             "--case-dir", str(tmp_path))
    assert sweep_runner.main(_sweep_args(*words)) == 1
    out = capsys.readouterr().out
    assert "subnormal: 1 of 1023 inputs fail" in out, out
    case = checks.load_case(next(tmp_path.glob("sweep-*.json")))
    assert case["arrays"]["x"].tolist() == [(1 - 2.0**-10) * 2.0**-14] * sweep.REPLAY_MIN_SIZE
    replay = shlex.split(out.split("  replay: ")[1].splitlines()[0])
    done = nnspec_here(*replay[1:], cwd=tmp_path)
    assert done.returncode == 1 and "FAIL" in done.stdout, done.stdout + done.stderr
