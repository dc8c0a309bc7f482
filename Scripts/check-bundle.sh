#!/usr/bin/env bash
# Checks a release bundle (Scripts/package-release.sh) the way a machine without Swift would use it: unpacks it
# into an empty folder; checks with ldd that no file of it loads anything from the Swift toolchain (and, for
# a --bundle-libs bundle, that every library but glibc's comes from the bundle); then, with /opt/swift hidden
# (a private mount namespace with an empty tmpfs over it, when unshare is allowed) and PATH and
# LD_LIBRARY_PATH stripped of it, runs `vitreous devices`, `vitreous demo`, `vitreous-bench --quick` (one op
# row and the ViT-S/14 pass: --quick in full takes minutes on PoCL) and the C example built against the
# bundle with cc + pkg-config and with CMake's find_package.
# Usage: Scripts/check-bundle.sh BUNDLE.tar.gz
set -euo pipefail
[[ $# -eq 1 && -f $1 ]] || { echo "usage: Scripts/check-bundle.sh BUNDLE.tar.gz" >&2; exit 2; }
tarball=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/.."
swift_root=$(dirname "$(dirname "$(dirname "$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)")")")
work=$(mktemp -d "${TMPDIR:-/tmp}/vitreous-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
bundle=$(find "$work/unpacked" -mindepth 1 -maxdepth 1 -type d)
[[ $(wc -l <<<"$bundle") -eq 1 ]] || { echo "check-bundle: expected one top-level folder in $tarball" >&2; exit 1; }
fail() { echo "check-bundle: $*" >&2; exit 1; }

bundled=0
grep -q ' bundled ' "$bundle/share/vitreous/DEPENDENCIES" && bundled=1
glibc='^(linux-vdso|ld-linux.*|libc|libm|libmvec|libdl|libpthread|librt|libresolv|libutil)\.so'
for file in "$bundle"/bin/* "$bundle"/lib/*.so*; do
    [[ -L $file ]] && continue
    libraries=$(env -u LD_LIBRARY_PATH ldd "$file")
    ! grep -q "$swift_root" <<<"$libraries" || { echo "$libraries"; fail "$file loads from $swift_root"; }
    ! grep -q "not found" <<<"$libraries" || { echo "$libraries"; fail "$file: a library is not found"; }
    if ((bundled)); then
        outside=$(awk -v glibc="$glibc" -v root="$bundle/" '$2 == "=>" && $1 !~ glibc && index($3, root) != 1' <<<"$libraries")
        [[ -z $outside ]] || { echo "$outside"; fail "$file loads these from outside the bundle"; }
    fi
done
echo "check-bundle: ldd: nothing from $swift_root$( ((bundled)) && echo ", every library but glibc's from the bundle")"
echo "check-bundle: ldd bin/vitreous:"
env -u LD_LIBRARY_PATH ldd "$bundle/bin/vitreous" | sed 's/^/    /'

# The C example against the bundle: cc + pkg-config, and CMake's find_package.
export PKG_CONFIG_PATH=$bundle/lib/pkgconfig
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
cc -std=c99 -Wall -Wextra -Werror "$bundle/share/vitreous/examples/c/vitreous-example.c" \
    $(pkg-config --cflags --libs vitreous) -lm -o "$work/example-pc"
cmake -G Ninja -S "$bundle/share/vitreous/examples/c" -B "$work/example-cmake" -DCMAKE_PREFIX_PATH="$bundle" > "$work/cmake.log" ||
    { cat "$work/cmake.log"; fail "the C example does not configure against the bundle"; }
cmake --build "$work/example-cmake" > "$work/cmake-build.log" || { cat "$work/cmake-build.log"; fail "the C example does not build"; }
for example in "$work/example-pc" "$work/example-cmake/vitreous-example"; do
    libraries=$(env -u LD_LIBRARY_PATH ldd "$example")
    grep -q "libvitreous.so.* => $bundle/lib/" <<<"$libraries" || { echo "$libraries"; fail "$example: libvitreous not from the bundle"; }
    ! grep -q "$swift_root" <<<"$libraries" || { echo "$libraries"; fail "$example loads from $swift_root"; }
done

# The runs, with the toolchain out of sight.
cat > "$work/runs.sh" <<EOF
set -euo pipefail
cd "$work"
if command -v swift > /dev/null || [[ -e $swift_root/usr/bin/swiftc ]]; then hidden=no; else hidden=yes; fi
echo "check-bundle: toolchain hidden: \$hidden"
"$bundle/bin/vitreous" devices > devices.log
"$bundle/bin/vitreous" demo --out demo > demo.log
grep -q "What to look at" demo.log || { cat demo.log; echo "check-bundle: vitreous demo: wrong output" >&2; exit 1; }
"$bundle/bin/vitreous-bench" --quick --part encoders --samples 2 > bench.log 2> bench.err
grep -q "encoder vit-s 224px b1" bench.log || { cat bench.log bench.err; echo "check-bundle: vitreous-bench: no encoder row" >&2; exit 1; }
"$bundle/bin/vitreous-bench" --quick --part ops --filter "layer norm" --verify --device all > bench-ops.log 2>> bench.err
grep -q "layer norm" bench-ops.log || { cat bench-ops.log bench.err; echo "check-bundle: vitreous-bench: no op row" >&2; exit 1; }
for example in example-pc example-cmake/vitreous-example; do
    ./\$example > example.log
    grep -q "flagged artifact tokens: 4" example.log || { cat example.log; echo "check-bundle: \$example: wrong output" >&2; exit 1; }
done
echo "check-bundle: vitreous demo, vitreous-bench --quick and the C example (pkg-config, CMake) ran"
grep -E "encoder vit-s 224px b1 " bench.log | sed 's/^/    /'
EOF
Scripts/without-swift.sh "$work" bash "$work/runs.sh"
