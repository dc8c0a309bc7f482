#!/usr/bin/env bash
# Builds the Python wheel (`pip wheel ./python`) from an existing CMake build folder (its libvitreous.so is
# already built, so nothing is compiled), installs it into a fresh venv, checks with ldd that nothing in the
# package loads from the Swift toolchain, and imports it and encodes a fixture image with the toolchain
# hidden (an empty tmpfs over it in a private mount namespace, as Scripts/check-bundle.sh does), comparing
# the features with transformers' (≤ 1e-4).
# Usage: Scripts/check-python-wheel.sh BUILD   (needs .venv-python from Scripts/test-python.sh)
set -euo pipefail
[[ $# -eq 1 && -d $1 ]] || { echo "usage: Scripts/check-python-wheel.sh BUILD" >&2; exit 2; }
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv-python
swift_root=$(dirname "$(dirname "$(dirname "$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)")")")
work=$(mktemp -d "${TMPDIR:-/tmp}/vitreous-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "check-python-wheel: $*" >&2; exit 1; }

# The build folder's own settings are passed again so that configuring it changes no compile flag.
static=$(sed -n 's/^VITREOUS_STATIC_SWIFT_STDLIB:BOOL=//p' "$build/CMakeCache.txt")
# scikit-build-core installs into its own staging prefix; the folder's own prefix is put back afterwards.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
tests=$(sed -n 's/^VITREOUS_BUILD_TESTS:BOOL=//p' "$build/CMakeCache.txt")
"$venv/bin/pip" wheel --quiet --disable-pip-version-check --no-build-isolation --no-deps ./python -w "$work/dist" \
    -C build-dir="$build" -C cmake.define.VITREOUS_STATIC_SWIFT_STDLIB="${static:-OFF}" \
    -C cmake.define.VITREOUS_BUILD_TESTS="${tests:-OFF}" > "$work/wheel.log" 2>&1 ||
    { tail -40 "$work/wheel.log"; fail "pip wheel failed"; }
cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX="${prefix:-/usr/local}" > /dev/null 2>&1
wheel=$(ls "$work"/dist/vitreous-*.whl)
echo "check-python-wheel: $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$("$venv/bin/python" -c 'import numpy; print("numpy==" + numpy.__version__)')" "$wheel"
package=$("$work/venv/bin/python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("vitreous").origin))')
for file in "$package"/*.so*; do
    libraries=$(env -u LD_LIBRARY_PATH ldd "$file")
    ! grep -q "$swift_root" <<<"$libraries" || { echo "$libraries"; fail "$file loads from $swift_root"; }
    ! grep -q "not found" <<<"$libraries" || { echo "$libraries"; fail "$file: a library is not found"; }
done
echo "check-python-wheel: ldd: nothing in the package loads from $swift_root"

cat > "$work/run.py" <<EOF
import os, shutil, numpy as np, vitreous
assert "VITREOUS_LIBRARY" not in os.environ
hidden = shutil.which("swiftc") is None and not os.path.exists("$swift_root/usr/bin/swiftc")
print("check-python-wheel: toolchain hidden:", "yes" if hidden else "no")
encoder = vitreous.Encoder("$root/Tests/VitreousModelTests/Fixtures/tiny/hf", device="cpu")
features = encoder.encode(vitreous.load_image("$root/Tests/VitreousImageTests/Fixtures/images/wide.jpg"))
reference = np.load("$root/Tests/VitreousImageTests/Fixtures/features/wide.jpg.npy")
worst = float(np.abs(features.tokens[0] - reference).max())
assert worst <= 1e-4, worst
print(f"check-python-wheel: import and encode ran; max |Δ| from transformers {worst:.2e}")
EOF
Scripts/without-swift.sh "$work" "$work/venv/bin/python" "$work/run.py"
