#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest) against a CMake build's libvitreous.so and CLI (nothing is
# compiled for them), then Scripts/check-python-wheel.sh: one wheel built from that same build folder,
# installed into a fresh venv and run with the Swift toolchain hidden.
# Creates .venv-python (ignored by git) with the pinned test packages on first use; Ray is the big one
# (~70 MB) and is installed once.
# Usage: Scripts/test-python.sh [BUILD]   (default: build; Scripts/test.sh runs it after its CMake build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
venv=.venv-python
packages=(numpy==2.4.6 pytest==9.2.0 scikit-build-core==1.1.2 pyarrow==26.0.1 "ray[data]==2.60.0")
if ! "$venv/bin/python" -c "import numpy, pytest, scikit_build_core, pyarrow, ray" 2>/dev/null; then
    echo "test-python: creating $venv with ${packages[*]}"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
fi
[[ -f $build/lib/libvitreous.so && -x $build/bin/vitreous ]] ||
    { echo "test-python: $build has no lib/libvitreous.so or bin/vitreous (run the CMake build first)" >&2; exit 1; }
VITREOUS_LIBRARY=$build/lib/libvitreous.so VITREOUS_CLI=$build/bin/vitreous \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
Scripts/check-python-wheel.sh "$build"
