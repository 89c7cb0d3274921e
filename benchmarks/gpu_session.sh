#!/usr/bin/env bash
# One device-machine call: install the carried wheels, then run the named stages,
# each under its own time limit, logging to $OUT/<stage>.log.
#   bash benchmarks/gpu_session.sh tests launch ladder blocks tune evict cuda_losses bench keras cat131072 jax_peaks
# (the device tool: carry .whl, the wheels of keras, liger-kernel, namex and optree for Python 3.12)
set -u
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
stage() {  # stage NAME LIMIT_S CMD...
  local name=$1 limit=$2; shift 2
  echo "=== $name ($(date +%T))"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  echo "=== $name rc=$? ($(date +%T))"
  tail -n "${TAIL:-25}" "$OUT/$name.log"
}
for s in "$@"; do
  case $s in
    tests) stage tests "${TESTS_S:-240}" python3 -m pytest -q -p no:cacheprovider -n 8 parity_tests/test_kernels.py parity_tests/test_fastmath.py parity_tests/test_cuda.py ;;
    launch) stage launch 120 python3 -m benchmarks.profile_launch ;;
    ladder) stage ladder 120 python3 -m benchmarks.profile_launch --ladder ;;
    tune) stage tune "${TUNE_S:-200}" python3 -m benchmarks.tune_cuda_kernels --single-pass-only ;;
    evict) stage evict "${TUNE_S:-200}" python3 -m benchmarks.tune_cuda_kernels --eviction-only ;;
    blocks) stage blocks "${TUNE_S:-200}" python3 -m benchmarks.tune_cuda_kernels --blocks-only ;;
    tune_full) stage tune_full 400 python3 -m benchmarks.tune_cuda_kernels ;;
    cuda_losses) stage cuda_losses "${CUDA_LOSSES_S:-300}" python3 -m benchmarks.cuda_losses --out "$OUT/cuda" ;;
    bench) stage bench "${BENCH_S:-400}" python3 -m scenarios.cli bench --device cuda --out "$OUT/bench" ${BENCH_ARGS:-} ;;
    keras) stage keras "${KERAS_S:-300}" python3 -m scenarios.cli bench --device cuda --keras-only --keras-backends jax,torch --out "$OUT/keras" ${KERAS_ARGS:-} ;;
    cat131072) stage cat131072 "${BENCH_S:-400}" python3 -m scenarios.cli bench --device cuda --families categorical,categorical_focal --shapes 8192x131072 --keras-backends jax,torch --out "$OUT/cat131072" ;;
    jax_peaks) stage jax_peaks "${KERAS_S:-300}" python3 -m scenarios.cli bench --device cuda --keras-only --peak-only --keras-backends jax --families binary,binary_focal --out "$OUT/jax_peaks" ;;
    *) echo "unknown stage $s" ;;
  esac
done
