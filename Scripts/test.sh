#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing, shows the OpenCL devices, runs every
# Swift test on every backend present, then builds the same code with CMake + Ninja, runs the same suites and
# the C example through ctest, runs the CMake-built CLI once, and builds the C example against a temporary
# install (Scripts/check-install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
Scripts/check-opencl.sh
swift build --build-tests
swift test
cmake -G Ninja -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build
ctest --test-dir build --output-on-failure
build/bin/vitreous demo --out build/demo-smoke > build/demo-smoke.log
grep -q "What to look at" build/demo-smoke.log
echo "CMake build: vitreous demo ran"
Scripts/check-install.sh build
