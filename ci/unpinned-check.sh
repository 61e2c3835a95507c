#!/usr/bin/env bash
# nnspec's own tests with the NEWEST hypothesis, pytest, pytest-xdist, pytest-timeout, numpy and rich (not the
# pins of ci/requirements.txt), in a throwaway virtual environment that sees the installed frameworks.
# Every own test is derandomized or seeded, so this passes exactly when the pinned run does, unless a newer
# release changed behaviour: run it before bumping a pin, and after a Hypothesis release (docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 -m venv --system-site-packages "$dir/venv"
"$dir/venv/bin/python" -m pip install -q --disable-pip-version-check -U hypothesis pytest pytest-xdist \
  pytest-timeout numpy rich
"$dir/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
"$dir/venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(hypothesis|pytest|pytest-xdist|pytest-timeout|numpy|rich) '
"$dir/venv/bin/python" -m pytest -q -n 2 -p no:cacheprovider "$@"
