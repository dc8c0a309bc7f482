#!/usr/bin/env bash
# Installs a CMake build (default: build/) into a temporary prefix and builds the C example against that
# install only, twice: with its own CMakeLists.txt (find_package(Vitreous)) and with plain cc + pkg-config.
# Each build must run and find the demo's four artifact tokens. Last, a Swift program against the installed
# Swift modules and static libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/vitreous-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for file in include/vitreous.h lib/libvitreous.so lib/pkgconfig/vitreous.pc lib/cmake/Vitreous/VitreousConfig.cmake \
    lib/cmake/Vitreous/VitreousConfigVersion.cmake lib/cmake/Vitreous/VitreousTargets.cmake \
    lib/swift/vitreous/VitreousModel.swiftmodule bin/vitreous; do
    [[ -e $prefix/$file ]] || { echo "install: $file is missing" >&2; exit 1; }
done

check() {  # name, executable
    "$2" > "$work/$1.log" || { cat "$work/$1.log"; echo "$1: the example failed" >&2; exit 1; }
    grep -q "flagged artifact tokens: 4" "$work/$1.log" || { cat "$work/$1.log"; echo "$1: wrong output" >&2; exit 1; }
    # The library must come from the install, not from the build folder.
    # ldd's output is captured first: `ldd | grep -q` under pipefail fails when grep exits before ldd is done.
    local libraries
    libraries=$(ldd "$2")
    grep -q "libvitreous.so.* => $prefix/lib/" <<<"$libraries" ||
        { echo "$libraries"; echo "$1: libvitreous not from $prefix" >&2; exit 1; }
    echo "$1: $(grep "CLS norm" "$work/$1.log"), $(grep "flagged" "$work/$1.log")"
}

cmake -G Ninja -S Examples/c -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" > "$work/example-configure.log"
cmake --build "$work/example" > "$work/example-build.log"
check "C example (CMake, find_package)" "$work/example/vitreous-example"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
cc -std=c99 -Wall -Wextra -pedantic -Werror Examples/c/vitreous-example.c $(pkg-config --cflags --libs vitreous) -lm \
    -o "$work/vitreous-example-pc"
check "C example (cc + pkg-config)" "$work/vitreous-example-pc"

# A Swift program against the installed static libraries and modules, with the same compiler.
mkdir -p "$work/swift"
cat > "$work/swift/main.swift" <<'SWIFT'
import VitreousModel
import VitreousTensor
let config = ViTConfig(hiddenSize: 64, depth: 2, heads: 4, mlpHiddenSize: 256, positionGrid: 16)
let weights = try ViTParameters.random(config: config, seed: 0).tensors(on: .cpu)
print("Swift program: a random model with D \(weights.config.hiddenSize) on \(weights.device)")
SWIFT
modules=()
for module in COpenCL CCLBlast CBLAS CPNG CTurboJPEG CWebP; do modules+=(-I "$prefix/include/vitreous/$module"); done
# shellcheck disable=SC2046
swiftc "$work/swift/main.swift" -o "$work/swift/program" -I "$prefix/lib/swift/vitreous" \
    -I "$prefix/lib/swift_static/linux" "${modules[@]}" $(pkg-config --cflags-only-I openblas) \
    -L "$prefix/lib" -lVitreousModel -lVitreousTensor -lLogging $(pkg-config --libs OpenCL clblast openblas)
"$work/swift/program"

# The installed header in C++.
printf '#include <vitreous.h>\nint main() { vitreous_model *m = nullptr; return vitreous_model_free(m); }\n' \
    > "$work/header.cpp"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -pedantic -Werror "$work/header.cpp" $(pkg-config --cflags --libs vitreous) -o "$work/header"
"$work/header"
echo "C++: the installed header compiles and links"
