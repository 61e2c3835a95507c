#!/usr/bin/env bash
# One-command GPU check: installs this checkout in place (offline; no registry needed) and runs the
# conformance suite on the GPU, writing reports and logs under ${OUT:-reports/gpu}.
#   1. torch on cuda, float64 and float32, ci profile (must pass);
#   2. torch on cuda with TF32 matmuls allowed, dense only (must FAIL: the float32 budget rejects TF32);
#   3. jax on gpu, float64 and float32, quick profile, when jax is installed (JAX's default float32 matmul on
#      NVIDIA GPUs is TF32, so dense float32 fails there: docs/gpu.md#jax-default-precision);
#   4. jax dense float32 with JAX_DEFAULT_MATMUL_PRECISION=highest (must pass).
# Usage: bash ci/gpu-check.sh     (DEVICE=cpu bash ci/gpu-check.sh rehearses it on a CPU machine)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-reports/gpu}"
device="${DEVICE:-cuda}"
jax_device="${JAX_DEVICE:-gpu}"
jax_profile="${JAX_PROFILE:-quick}"  # JAX compiles each new shape; quick keeps the check within minutes
mkdir -p "$out"
python3 -m pip install --no-deps --no-build-isolation --no-index -e . >"$out/install.log" 2>&1 \
  || python3 -m pip install --no-deps -e . >>"$out/install.log" 2>&1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 -c "import torch; print('torch', torch.__version__, torch.version.cuda)"; } >"$out/machine.txt" 2>&1
status=0
section() { echo; echo "== $*"; }
section "torch, $device, default numerics, every declared dtype (float16 and bfloat16 not yet run on a GPU)"
start=$SECONDS
nnspec run --backend torch --device "$device" --profile ci --report "$out/torch-$device" \
  >"$out/torch-$device.log" 2>&1
code=$?
tail -45 "$out/torch-$device.log"; echo "exit $code in $((SECONDS - start)) s"
[ "$code" -eq 0 ] || status=1
section "torch, $device, TF32 matmul allowed: dense float32 must fail"
nnspec run --backend torch --device "$device" --dtype float32 --profile ci --backend-option tf32=1 -k dense \
  --report "$out/torch-$device-tf32" >"$out/torch-$device-tf32.log" 2>&1
code=$?
grep -E "worst element|passed|failed" "$out/torch-$device-tf32.log" | tail -8
if [ "$code" -eq 1 ]; then echo "TF32 rejected, as it must be"; else echo "TF32 NOT rejected (exit $code)"; status=1; fi
if python3 -c "import jax" 2>/dev/null; then
  section "jax, $jax_device, $jax_profile profile"
  start=$SECONDS
  nnspec run --backend jax --device "$jax_device" --dtype float64,float32 --profile "$jax_profile" \
    --report "$out/jax-$jax_device" \
    >"$out/jax-$jax_device.log" 2>&1
  code=$?
  tail -45 "$out/jax-$jax_device.log"; echo "exit $code in $((SECONDS - start)) s"
  [ "$code" -eq 0 ] || status=1
  section "jax, $jax_device, dense float32 with matmul precision 'highest' (JAX's default on NVIDIA GPUs is TF32)"
  JAX_DEFAULT_MATMUL_PRECISION=highest nnspec run --backend jax --device "$jax_device" --dtype float32 \
    --profile "$jax_profile" -k dense --report "$out/jax-$jax_device-highest" >"$out/jax-$jax_device-highest.log" 2>&1
  code=$?
  grep -E "passed|failed" "$out/jax-$jax_device-highest.log" | tail -1
  [ "$code" -eq 0 ] || status=1
fi
exit $status
