"""The CI files a framework project copies (docs/ci/) are valid: the workflow against GitHub's schema, the shell
entry point through bash's parser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parent.parent / "docs" / "ci"


def test_workflow_matches_githubs_schema():
    if shutil.which("check-jsonschema") is None:
        pytest.skip("check-jsonschema is not installed (ci/requirements.txt installs it)")
    done = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(CI / "nnspec-conformance.yml")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_runs_merge_and_compare():
    text = (CI / "nnspec-conformance.yml").read_text()
    for command in ("nnspec run ", "--junit", "nnspec merge ", "nnspec compare ", "upload-artifact"):
        assert command in text, command


def test_shell_entry_point_parses():
    done = subprocess.run(["bash", "-n", str(CI / "nnspec-ci.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
