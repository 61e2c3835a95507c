#!/usr/bin/env bash
# The README's test command. Runs nnspec's own tests (the reference's SymPy/mpmath/Hypothesis self-checks,
# doctests, the suite's machinery and planted bugs), then the conformance suite against the reference, PyTorch,
# JAX and TensorFlow/Keras at the ci profile. pytest's exit code 5 ("no tests collected") is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
run() {
  echo "+ $*"
  "$@"
  local code=$?
  if [ "$code" -eq 5 ]; then
    echo "ci/test.sh: '$*' collected no tests: treated as a failure" >&2
    code=1
  fi
  [ "$code" -eq 0 ] || status=1
}
run python3 -m pytest -q -n 2
run nnspec run --backend reference --profile ci --jobs 2 --report reports/reference
run nnspec run --backend torch --profile ci --jobs 2 --report reports/torch
run nnspec run --backend jax --profile ci --jobs 2 --dtype float64,float32 --report reports/jax
# JAX compiles every new shape, so its half-precision dtypes run at the quick profile here (at ci they pass
# too, in about 4 minutes: docs/benchmarks.md)
run nnspec run --backend jax --profile quick --jobs 2 --dtype float16,bfloat16 --report reports/jax-half
run nnspec run --backend tensorflow --profile ci --jobs 2 --report reports/tensorflow
exit $status
