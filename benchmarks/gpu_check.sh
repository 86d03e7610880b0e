#!/usr/bin/env bash
# On a CUDA machine: benchmarks/gpu_smoke.py, then the tests marked gpu or tensorrt, into one file.
#
#     bash benchmarks/gpu_check.sh [OUTPUT]     # default OUTPUT: benchmarks/gpu_check.txt (git-ignored)
#
# Offline (tiny models built locally); at most 200 s + 260 s (under 8 minutes) on one GPU. Paste OUTPUT into benchmarks/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/gpu_check.txt}"
export HF_HUB_OFFLINE=1
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "gpu: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo none)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "== python benchmarks/gpu_smoke.py"
    timeout 200 python benchmarks/gpu_smoke.py 2>&1
    smoke=$?
    echo "== python -m pytest -m 'gpu or tensorrt'"
    timeout 260 python -m pytest -q -rs -p no:cacheprovider -m "gpu or tensorrt" tests 2>&1
    tests=$?
    echo "gpu_smoke exit $smoke, gpu tests exit $tests"
} 2>&1 | tee "$out"
grep -q "gpu_smoke exit 0, gpu tests exit 0" "$out"
