#!/usr/bin/env bash
# One-command GPU check: installs this checkout in place (offline; no registry needed) and runs the
# conformance suite on the GPU, writing reports under ${OUT:-reports/gpu}.
#   1. torch on cuda, float64 and float32, ci profile (must pass);
#   2. torch on cuda with TF32 matmuls allowed, dense only (must FAIL: the float32 budget rejects TF32).
# Usage: bash ci/gpu-check.sh            (on a machine with CUDA and torch installed)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-reports/gpu}"
mkdir -p "$out"
python3 -m pip install --no-deps --no-build-isolation --no-index -e . >"$out/install.log" 2>&1 \
  || python3 -m pip install --no-deps -e . >>"$out/install.log" 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/nvidia-smi.txt" 2>&1 || true
status=0
echo "== torch, cuda, default numerics"
nnspec run --backend torch --device cuda --dtype float64,float32 --profile ci --report "$out/torch-cuda" \
  2>&1 | tee "$out/torch-cuda.log" | tail -60
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "== torch, cuda, TF32 matmul allowed: dense float32 must fail"
nnspec run --backend torch --device cuda --dtype float32 --profile ci --backend-option tf32=1 -k dense \
  --report "$out/torch-cuda-tf32" 2>&1 | tee "$out/torch-cuda-tf32.log" | tail -40
if [ "${PIPESTATUS[0]}" -eq 1 ]; then echo "TF32 rejected, as it must be"; else echo "TF32 NOT rejected"; status=1; fi
exit $status
