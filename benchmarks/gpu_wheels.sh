#!/usr/bin/env bash
# Fetch the wheels the GPU image lacks (diffusers, datasets and their missing dependencies) into .whl/ at
# the repository root, for Python 3.12 on x86-64 Linux (the GPU image's python3), at the versions this
# project is tested with. benchmarks/gpu_run.sh installs them there when an import fails.
#
#   bash benchmarks/gpu_wheels.sh        # then carry .whl with the run (git ignores it: .gitignore)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# The GPU image (docs/benchmarks.md) has torch, accelerate, huggingface_hub, safetensors, numpy, pandas,
# pyarrow, xxhash, fsspec, pyyaml, requests, regex, filelock, tqdm, pillow and zipp; not these:
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl diffusers==0.42.1 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
    importlib_metadata==10.2.0 lazy-importer==0.1.0
ls -l .whl
