#!/usr/bin/env bash
# nnspec conformance for any CI system: run the suite, keep the report, compare with a baseline.
#   docs/ci/nnspec-ci.sh BACKEND DTYPES [BASELINE_REPORT_DIR]
# Exit status: nnspec run's (0 only when everything declared passed), or 1 when the comparison with the
# baseline finds a regression.
set -uo pipefail
backend=${1:?backend}; dtypes=${2:-declared}; baseline=${3:-}
out="reports/$backend"
nnspec run --backend "$backend" --dtype "$dtypes" --profile ci --jobs "${NNSPEC_JOBS:-2}" --report "$out" \
  --junit "$out/junit.xml"
status=$?
if [ -n "$baseline" ] && [ -f "$baseline/report.json" ] && [ -f "$out/report.json" ]; then
  nnspec compare "$baseline/report.json" "$out/report.json" --markdown "$out/compare.md" || status=1
fi
exit $status
