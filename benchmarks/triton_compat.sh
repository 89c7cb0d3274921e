#!/usr/bin/env bash
# The kernels against another Triton release, on this machine, no GPU needed:
#   bash benchmarks/triton_compat.sh [TRITON_VERSION]     (default 3.6.0, the device machines' release)
# Builds .venv-triton<version> (torch 2.13 CPU + that Triton), then
#   1. compiles every launch the losses make for sm_90 with that Triton and its own ptxas
#      (benchmarks/ptxas_report.py: a kernel that does not build, spills or changes its
#      register count shows here before device time is spent), and
#   2. runs the kernel and fast-math tests in that Triton's interpreter.
# The GPU tests (benchmarks/gpu_session.sh tests) remain the final word: this catches front-end
# and compiler differences between releases, not how the code runs on the device.
set -euo pipefail
VERSION=${1:-3.6.0}
VENV=.venv-triton${VERSION}
if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet torch==2.13.0 "triton==$VERSION" numpy==2.1.3 pytest==8.4.2 \
    pytest-xdist==3.8.0 hypothesis==6.140.2
fi
"$VENV/bin/python" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
echo "=== sm_90 compile of every launch (ptxas_report)"
PYTHONPATH=$PWD "$VENV/bin/python" -m benchmarks.ptxas_report
echo "=== kernel and fast-math tests in the interpreter"
TRITON_INTERPRET=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider -n 2 -m "not slow" \
  parity_tests/test_kernels.py parity_tests/test_fastmath.py
