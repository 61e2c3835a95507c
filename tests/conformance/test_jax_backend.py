"""The jax backend: it loads quietly, declares float64 only when x64 took effect, passes a few primitives through
the real command line, and its known issues are real (each still shows in JAX, and fails the suite unexcused).

JAX's x64 switch is process-wide, so every case runs in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")


def python(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_float64_is_declared_only_when_x64_is_enabled(tmp_path):
    run = python("""
        from nnspec.adapters import load_backend
        print(load_backend("jax", x64="0").capabilities().dtypes)
        print(load_backend("jax").capabilities().dtypes)
    """, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["('float32', 'float16', 'bfloat16')",
                                         "('float64', 'float32', 'float16', 'bfloat16')"], run.stdout
    assert run.stderr == "", run.stderr  # a quiet import: no warnings in nnspec's output


def test_run_passes_a_few_primitives(tmp_path, nnspec_cli):
    run = nnspec_cli("run", "--backend", "jax", "--profile", "ci", "-k",
                 "test_elementwise_special_points and (relu or sigmoid or softplus) or test_dense_backward",
                 "--jobs", "0", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "passed" in run.stdout and "failed" not in run.stdout.split("nnspec conformance summary")[-1]


def test_known_issue_fails_the_suite_without_its_excuse(tmp_path, nnspec_cli):
    """jax.nn.leaky_relu'(0) = 1: excused, it passes; with --no-known-issues the same test fails and names it."""
    keyword = ["-k", "test_leaky_relu_derivative_at_zero_is_slope", "--dtype", "float32", "--profile", "ci",
               "--jobs", "0"]
    excused = nnspec_cli("run", "--backend", "jax", *keyword, cwd=tmp_path)
    assert excused.returncode == 0, excused.stdout[-3000:]
    unexcused = nnspec_cli("run", "--backend", "jax", "--no-known-issues", *keyword, cwd=tmp_path)
    assert unexcused.returncode == 1, unexcused.stdout[-3000:]
    assert "float32 leaky_relu derivative at 0: grad of x" in unexcused.stdout


def test_known_issues_still_show_in_jax_and_optax(tmp_path):
    """Each finding on its minimal input (docs/findings.md, section JAX); when JAX fixes one, this fails and
    the entry in nnspec.adapters.jax.known_issues can go."""
    run = python("""
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp, optax
        f32 = jnp.float32
        print(float(jax.grad(lambda x: jax.nn.leaky_relu(x, 0.2))(f32(0.0))))
        print(float(jax.nn.gelu(f32(-jnp.inf), approximate=False)), float(jax.nn.gelu(f32(-jnp.inf))))
        print(float(jax.vjp(lambda x: jax.nn.gelu(x, approximate=False), f32(1e38))[1](f32(8.0))[0]))
        print(float(jax.grad(lambda x: jax.nn.gelu(x, approximate=True))(f32(2e19))))
        print(float(optax.losses.sigmoid_binary_cross_entropy(f32(jnp.inf), f32(1.0))))
        logits = jnp.array([[1e8, 1e8]], f32)
        print(float(optax.losses.softmax_cross_entropy_with_integer_labels(logits, jnp.array([0]))[0]))
        opt = optax.adagrad(0.1, initial_accumulator_value=0.0, eps=1e-10)
        p = jnp.zeros(1, f32)
        print(float(opt.update(jnp.array([1e-20], f32), opt.init(p), p)[0][0]))
    """, tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split()
    assert lines == ["1.0", "nan", "nan", "nan", "nan", "nan", "0.0", "-0.0"], run.stdout
