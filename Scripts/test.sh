#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing, shows the OpenCL devices,
# then runs every Swift test on every backend present.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
Scripts/check-opencl.sh
swift build --build-tests
swift test
