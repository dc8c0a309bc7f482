#!/usr/bin/env bash
# Copies the Swift runtime libraries that the given ELF files load (the whole closure, as ldd resolves it) from
# the toolchain's RUNTIME folder into DEST and points each copy at its own folder (RUNPATH $ORIGIN); the
# caller sets the given files' own RUNPATH to reach DEST. Then they run on a machine without the Swift
# toolchain. Used by the release bundle (Scripts/package-release.sh) and the Python package's install (python/).
# Usage: Scripts/bundle-swift-runtime.sh RUNTIME DEST FILE...
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: Scripts/bundle-swift-runtime.sh RUNTIME DEST FILE..." >&2; exit 2; }
runtime=$(cd "$1" && pwd)
dest=$2
shift 2
command -v patchelf > /dev/null || { echo "bundle-swift-runtime: patchelf is missing (Scripts/install-deps.sh)" >&2; exit 1; }
copied=()
while read -r soname path; do
    cp -L "$path" "$dest/$soname"
    chmod u+w "$dest/$soname"
    copied+=("$dest/$soname")
done < <(for file in "$@"; do ldd "$file"; done | awk -v root="$runtime/" '$2 == "=>" && index($3, root) == 1 { print $1, $3 }' | sort -u)
for file in "${copied[@]}"; do patchelf --set-rpath '$ORIGIN' "$file"; done
echo "bundle-swift-runtime: copied into $dest: $(for file in "${copied[@]}"; do basename "$file"; done | paste -sd " " -)"
