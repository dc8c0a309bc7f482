#!/usr/bin/env bash
# Runs COMMAND as on a machine without the Swift toolchain: a clean environment (HOME and TMPDIR in WORK, PATH
# without the toolchain, no LD_LIBRARY_PATH; OCL_ICD_VENDORS and CI kept) and, where unshare is allowed, an
# empty tmpfs over the toolchain in a private mount namespace, so nothing under it can be loaded.
# Shared by Scripts/check-bundle.sh and Scripts/check-python-wheel.sh.
# Usage: Scripts/without-swift.sh WORK COMMAND [ARG...]
set -euo pipefail
[[ $# -ge 2 && -d $1 ]] || { echo "usage: Scripts/without-swift.sh WORK COMMAND [ARG...]" >&2; exit 2; }
work=$1
shift
swift_root=$(dirname "$(dirname "$(dirname "$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)")")")
clean_path=$(tr ':' '\n' <<<"$PATH" | grep -v "^$swift_root" | paste -sd: -)
environment=(env -i HOME="$work" PATH="$clean_path" TMPDIR="$work" VITREOUS_KERNEL_CACHE="$work/kernel-cache")
[[ -n ${OCL_ICD_VENDORS:-} ]] && environment+=(OCL_ICD_VENDORS="$OCL_ICD_VENDORS")
[[ -n ${CI:-} ]] && environment+=(CI="$CI")
if [[ -d $swift_root ]] && unshare --mount --propagation private true 2>/dev/null; then
    # shellcheck disable=SC2016  # $0 and $@ belong to the inner shell
    "${environment[@]}" unshare --mount --propagation private \
        bash -c 'mount -t tmpfs tmpfs "$0" && exec "$@"' "$swift_root" "$@"
else
    echo "without-swift: cannot hide $swift_root (unshare needs root); PATH and LD_LIBRARY_PATH are stripped of it"
    "${environment[@]}" "$@"
fi
