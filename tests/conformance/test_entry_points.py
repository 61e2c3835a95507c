"""A third-party backend installed as a distribution is found through the ``nnspec.backends`` entry-point group
(docs/adapters.md#plugging-in), not only through ``module:Class``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _install_fake_distribution(site, entries: dict[str, str]) -> None:
    """A minimal installed distribution on ``site``: a dist-info folder whose entry_points.txt is what
    ``pip install`` writes for ``[project.entry-points."nnspec.backends"]``."""
    info = site / "nnspec_fake_backends-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nnspec-fake-backends\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[nnspec.backends]\n{lines}")


def _run(site, cwd, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "nnspec", "run", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def test_entry_point_backends_are_found_run_and_judged(tmp_path):
    pytest.importorskip("torch")
    site = tmp_path / "site"
    _install_fake_distribution(site, {"fake-reference": "nnspec.adapters.reference_backend:ReferenceBackend",
                                      "fake-relu-bug": "nnspec.adapters.mutants:ReluGradAtZeroIsOne"})
    keyword = ["--dtype", "float32", "--profile", "ci", "-k", "test_elementwise_special_points and -relu"]
    good = _run(site, tmp_path, "--backend", "fake-reference", *keyword)
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    bad = _run(site, tmp_path, "--backend", "fake-relu-bug", *keyword, "--jobs", "0")  # the good run used a worker
    assert bad.returncode == 1 and "relu" in bad.stdout, bad.stdout[-2000:] + bad.stderr[-2000:]
    unknown = _run(site, tmp_path, "--backend", "not-installed", *keyword)
    assert unknown.returncode != 0 and "fake-reference" in unknown.stdout + unknown.stderr  # the error lists them
