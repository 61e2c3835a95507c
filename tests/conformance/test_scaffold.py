"""`nnspec new-backend NAME` writes an adapter package that runs green at once, from its own folder."""

from __future__ import annotations

import json


def test_new_backend_package_runs_green(tmp_path, nnspec_cli, nnspec_here):
    made = nnspec_here("new-backend", "tinyfw", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "nnspec-tinyfw"
    assert (folder / "pyproject.toml").read_text().count('tinyfw = "nnspec_tinyfw.backend:TinyfwBackend"') == 1
    run = nnspec_cli("run", "--backend", "nnspec_tinyfw.backend:TinyfwBackend", "--report", "reports", cwd=folder)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads((folder / "reports" / "report.json").read_text())
    relu = {c["dtype"]: c["status"] for c in report["cells"] if c["primitive"] == "relu"}
    assert relu == {"float64": "passed", "float32": "passed"}, report["cells"]


def test_new_backend_refuses_a_bad_name_or_a_full_folder(tmp_path, nnspec_here):
    assert nnspec_here("new-backend", "1fw", cwd=tmp_path).returncode == 4
    (tmp_path / "nnspec-fw").mkdir()
    (tmp_path / "nnspec-fw" / "keep.txt").write_text("mine")
    refused = nnspec_here("new-backend", "fw", cwd=tmp_path)
    assert refused.returncode == 4 and "is not empty" in refused.stderr
