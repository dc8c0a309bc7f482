#!/usr/bin/env bash
# Builds the release bundle OUTDIR/vitreous-<version>-linux-<arch>.tar.gz: a folder that runs on a Linux
# machine without the Swift toolchain.
#   bin/vitreous, bin/vitreous-bench   Release builds with the Swift runtime and Foundation linked statically
#   lib/libvitreous.so*                the C API, with the Swift runtime libraries it needs beside it
#                                      (RUNPATH $ORIGIN)
#   include/vitreous.h, lib/pkgconfig/vitreous.pc, lib/cmake/Vitreous/   relocatable: found from where they lie
#   share/vitreous/                    README, DEPENDENCIES (the system libraries and their Debian packages),
#                                      the C example and device-check.sh
# The system libraries (OpenCL ICD loader, CLBlast, OpenBLAS, libpng, image decoders, and what they pull in)
# are listed as runtime dependencies; with --bundle-libs they are copied into lib/ as well (RUNPATH $ORIGIN),
# so that the bundle needs only glibc and a GPU vendor's OpenCL driver. OpenCL drivers (ICDs, such as PoCL)
# are never bundled: the bundled ICD loader finds the machine's own through /etc/OpenCL/vendors.
#
# Usage: Scripts/package-release.sh [--bundle-libs] [--build DIR] OUTDIR
#   --build DIR  the CMake build folder to configure (Release, static Swift runtime) and build; default
#                build-release. Only the tools and libvitreous.so are built, so this runs alone on a fresh
#                clone; Scripts/test.sh runs it so first and then builds the rest in the same build-release.
set -euo pipefail
usage() { echo "usage: Scripts/package-release.sh [--bundle-libs] [--build DIR] OUTDIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
bundle_libs=0
build=build-release
outdir=""
while (($#)); do
    case $1 in
        --bundle-libs) bundle_libs=1 ;;
        --build) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
        -h|--help) usage ;;
        -*) echo "package-release: unknown option $1" >&2; usage ;;
        *) [[ -z $outdir ]] || usage; outdir=$1 ;;
    esac
    shift
done
[[ -n $outdir ]] || usage
for tool in cmake ninja patchelf ldd objdump tar; do
    command -v "$tool" >/dev/null || { echo "package-release: $tool is missing (Scripts/install-deps.sh)" >&2; exit 1; }
done

echo "package-release: building in $build (Release, static Swift runtime)"
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVITREOUS_STATIC_SWIFT_STDLIB=ON > /dev/null
cmake --build "$build" --target vitreous vitreous-bench vitreous-c

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
swift_compiler=$(sed -n 's/^CMAKE_Swift_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
swift_runtime=$(cd "$(dirname "$swift_compiler")/../lib/swift/linux" && pwd)
name=vitreous-$version-linux-$(uname -m)
work=$(mktemp -d "${TMPDIR:-/tmp}/vitreous-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/$name

# Install into a scratch prefix only what a user of the tools and of the C API needs: the components tools
# and c-api. The Swift modules and static libraries (component swift) are for Swift programs built with the
# same compiler, and the dependencies' own install rules name libraries this build never made (swift-log's
# InMemoryLogging): a plain `cmake --install` would need the whole build, tests included.
for component in tools c-api; do
    cmake --install "$build" --prefix "$work/install" --component "$component" --strip >> "$work/install.log"
done
mkdir -p "$stage/bin" "$stage/lib" "$stage/include" "$stage/share/vitreous/examples/c"
cp -a "$work/install/bin/vitreous" "$work/install/bin/vitreous-bench" "$stage/bin/"
cp -a "$work/install/lib/"libvitreous.so* "$work/install/lib/pkgconfig" "$work/install/lib/cmake" "$stage/lib/"
cp -a "$work/install/include/vitreous.h" "$stage/include/"
cp Examples/c/vitreous-example.c Examples/c/CMakeLists.txt "$stage/share/vitreous/examples/c/"
cp Scripts/device-check.sh "$stage/share/vitreous/"

# glibc's own libraries stay the machine's: they must match its dynamic loader.
is_glibc() {
    [[ $1 =~ ^(linux-vdso|linux-gate|ld-linux.*|libc|libm|libmvec|libdl|libpthread|librt|libresolv|libutil|libanl|libnsl)\.so ]]
}
# "soname path" for every library `ldd` resolves for the given files (the whole closure), one per line.
resolved_libraries() {
    for file in "$@"; do ldd "$file"; done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u
}
# The Debian package that owns a library file, or "?".
owner() {
    local package
    package=$(dpkg -S "$1" 2>/dev/null || dpkg -S "$(readlink -f "$1")" 2>/dev/null || true)
    echo "${package%%:*}" | sed 's/^$/?/'
}

elves=("$stage/bin/vitreous" "$stage/bin/vitreous-bench" "$stage/lib/libvitreous.so.$version")
# The Swift runtime libraries go beside libvitreous.so (RUNPATH $ORIGIN), as in the Python package.
Scripts/bundle-swift-runtime.sh "$swift_runtime" "$stage/lib" "${elves[@]}"
system_libraries=()
while read -r soname path; do
    if [[ $path != "$swift_runtime"/* ]] && ! is_glibc "$soname"; then
        system_libraries+=("$soname $path")
    fi
done < <(resolved_libraries "${elves[@]}")

bundled=()
if ((bundle_libs)); then
    for entry in "${system_libraries[@]}"; do
        read -r soname path <<<"$entry"
        cp -L "$path" "$stage/lib/$soname"
        chmod u+w "$stage/lib/$soname"
        patchelf --set-rpath '$ORIGIN' "$stage/lib/$soname"
        bundled+=("$soname")
    done
fi
# Everything finds its libraries beside itself first; the system's only for what is not bundled.
patchelf --set-rpath '$ORIGIN' "$stage/lib/libvitreous.so.$version"
for tool in vitreous vitreous-bench; do patchelf --set-rpath '$ORIGIN/../lib' "$stage/bin/$tool"; done

# The newest glibc symbol version any file needs: the oldest glibc the bundle runs on.
glibc=$(for file in "$stage"/bin/* "$stage"/lib/*.so*; do [[ -L $file ]] || objdump -T "$file"; done 2>/dev/null |
    grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)

{
    echo "# Runtime dependencies of $name"
    echo "# soname  status  Debian package it came from (on the machine that built the bundle)"
    for entry in "${system_libraries[@]}"; do
        read -r soname path <<<"$entry"
        status=system
        ((bundle_libs)) && status=bundled
        echo "$soname $status $(owner "$path")"
    done
    echo "# Always the machine's own: glibc $glibc or newer (libc, libm, libdl, libpthread, librt, ld-linux)"
    echo "# and an OpenCL driver (ICD) registered in /etc/OpenCL/vendors for the GPU, if any."
} > "$stage/share/vitreous/DEPENDENCIES"

if ((bundle_libs)); then
    libraries_text="The system libraries are bundled in lib/: $(printf '%s ' "${bundled[@]}")"
    install_text="Nothing to install but the GPU vendor's OpenCL driver."
else
    libraries_text="The system libraries are not bundled; share/vitreous/DEPENDENCIES lists them with their Debian packages."
    install_text="On Debian or Ubuntu: apt-get install $(for entry in "${system_libraries[@]}"; do
        read -r _ path <<<"$entry"; owner "$path"; done | sort -u | grep -v '^?$' | tr '\n' ' ')"
fi
cat > "$stage/share/vitreous/README.md" <<EOF
# Vitreous $version for Linux $(uname -m)

DINOv2-family Vision Transformers on any OpenCL device or the CPU, with artifact-token repair. This folder
runs without a Swift toolchain: the tools carry the Swift runtime inside them, and \`lib/\` holds the Swift
runtime libraries that \`libvitreous.so\` needs (found through its RUNPATH, \`\$ORIGIN\`).

- Needs glibc $glibc or newer. $libraries_text
- $install_text
- A GPU needs its vendor's OpenCL driver: NVIDIA \`libnvidia-opencl\` with \`/etc/OpenCL/vendors/nvidia.icd\`,
  AMD ROCm's OpenCL runtime (or Mesa's rusticl), Intel \`intel-opencl-icd\`. \`bin/vitreous devices\` lists what it sees.

## Use

    bin/vitreous devices                   the OpenCL platforms and devices
    bin/vitreous demo --out demo           a planted-artifact demo model, repaired, with maps
    bin/vitreous-bench --quick             every operation and a ViT-S/14 pass on every device
    share/vitreous/device-check.sh . out   one short GPU check: devices, every op verified, encoder timings

## C and C++

    cc my.c \$(PKG_CONFIG_PATH=$name/lib/pkgconfig pkg-config --cflags --libs vitreous) -lm
    cmake -DCMAKE_PREFIX_PATH=$name ...    then find_package(Vitreous) and link Vitreous::vitreous

\`share/vitreous/examples/c/\` holds a complete example (\`cmake -S share/vitreous/examples/c -B ex
-DCMAKE_PREFIX_PATH=\$PWD && cmake --build ex && ex/vitreous-example\`).
EOF

mkdir -p "$outdir"
tarball=$outdir/$name.tar.gz
tar -C "$work" -czf "$tarball" "$name"
echo "package-release: $tarball ($(du -h "$tarball" | cut -f1); unpacked $(du -sh "$stage" | cut -f1))"
if ((bundle_libs)); then
    echo "package-release: bundled: ${bundled[*]}"
else
    echo "package-release: system libraries needed: $(for e in "${system_libraries[@]}"; do printf '%s ' "${e%% *}"; done)"
fi
echo "package-release: needs glibc $glibc or newer"
