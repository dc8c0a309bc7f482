#!/usr/bin/env bash
# Installs the Debian packages Vitreous builds and runs against; does nothing when all are present.
# The Swift toolchain itself (6.1 or newer) is expected on PATH.
set -euo pipefail
packages=(ocl-icd-opencl-dev opencl-headers libclblast-dev pocl-opencl-icd libopenblas-dev libpng-dev libturbojpeg0-dev libwebp-dev
          libcairo2-dev libssl-dev fonts-dejavu-core cmake ninja-build pkg-config clinfo gcc g++ patchelf python3-numpy python3-venv
          slurm-wlm munge)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
command -v swift >/dev/null || { echo "error: swift is not on PATH (Swift 6.1 or newer is needed)" >&2; exit 1; }
