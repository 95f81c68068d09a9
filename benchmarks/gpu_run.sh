#!/usr/bin/env bash
# The prepared GPU run (docs/benchmarks.md, "The GPU run"): one command, under 8 minutes on one NVIDIA GPU.
#
#   bash benchmarks/gpu_run.sh           # writes gpu_run.json and gpu_run.md into $OUT (or ./gpu-results)
#   bash benchmarks/gpu_run.sh --dry     # the same code on a CPU, small config (what tests/test_gpu_suite.py runs)
#
# Extra arguments go to `benchmarks/run.py --suite gpu` (e.g. --budget_s 420, --compile_timeout 200).
# A GPU image without diffusers or datasets: fetch their wheels beforehand with benchmarks/gpu_wheels.sh
# (into .whl/ at the repository root, carried with the checkout); they are installed here only when an
# import fails, into a throw-away folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

if ! "$PYTHON" -c "import diffusers, datasets" 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "error: diffusers or datasets is missing and no wheels are in .whl/ (run benchmarks/gpu_wheels.sh first)" >&2
        exit 2
    fi
    site=${TMPDIR:-/tmp}/sagan-gpu-site
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if [ "${1:-}" != "--dry" ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv || true
fi
exec "$PYTHON" benchmarks/run.py --suite gpu --out "${OUT:-gpu-results}" "$@"
