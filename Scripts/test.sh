#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing, shows the OpenCL devices, builds the
# design documents with DocC (Scripts/build-docs.sh, warnings are errors), runs every
# Swift test on every backend present (and again with the GPU launch layout on the OpenCL devices), then builds
# the same code with CMake + Ninja, runs the same suites and the C example through ctest, runs the CMake-built
# CLI once, builds the C example against a temporary install (Scripts/check-install.sh), runs each fuzz target
# for 20 s (Scripts/fuzz.sh --smoke) and the whole suite under AddressSanitizer (Scripts/sanitize.sh address).
# About 25 minutes on two cores; VITREOUS_TEST_QUICK=1 stops after the SwiftPM tests.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
Scripts/check-opencl.sh
# The design documents (Documentation/Vitreous.docc) build without a warning: seconds, no compilation.
Scripts/build-docs.sh
swift build --build-tests
swift test
# The GPU launch layout (big work-groups, local-memory reductions, scalar attention) on the OpenCL devices
# present, so its code paths are checked on PoCL too.
if grep -q "Device #" <<<"$(clinfo -l 2>/dev/null)"; then
    VITREOUS_OPENCL_TUNING=gpu swift test --skip-build --filter "VitreousTensorTests|VitreousModelTests"
fi
if [[ "${VITREOUS_TEST_QUICK:-}" == 1 ]]; then exit 0; fi
cmake -G Ninja -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build
ctest --test-dir build --output-on-failure
build/bin/vitreous demo --out build/demo-smoke > build/demo-smoke.log
grep -q "What to look at" build/demo-smoke.log
echo "CMake build: vitreous demo ran"
Scripts/check-install.sh build
Scripts/fuzz.sh --smoke
Scripts/sanitize.sh address
