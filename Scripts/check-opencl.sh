#!/usr/bin/env bash
# Prints the OpenCL platforms and devices this machine offers. With CI=true, finding none is a failure:
# a test run that silently skips the OpenCL backend proves nothing.
set -uo pipefail
listing="$(clinfo -l 2>&1)"
echo "$listing"
if ! grep -q "Device #" <<<"$listing"; then
    if [ "${CI:-}" = "true" ]; then
        echo "error: no OpenCL device found (CI=true requires one; install pocl-opencl-icd)" >&2
        exit 1
    fi
    echo "warning: no OpenCL device found; only the CPU backend will be tested" >&2
fi
