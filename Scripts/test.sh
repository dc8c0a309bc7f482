#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing, shows the OpenCL devices,
# runs every Swift test on every backend present, then builds the same code with CMake + Ninja and runs
# the CMake-built CLI once.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
Scripts/check-opencl.sh
swift build --build-tests
swift test
cmake -G Ninja -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build
build/bin/vitreous demo --out build/demo-smoke > build/demo-smoke.log
grep -q "What to look at" build/demo-smoke.log
echo "CMake build: vitreous demo ran"
