#!/usr/bin/env bash
# Builds the design documents (Documentation/Vitreous.docc: architecture, kernels, register repair, adding an op)
# with DocC and fails on any warning: a broken link or a malformed directive. No compilation is involved, so it takes
# seconds. The site goes to .build/docs (or the folder given as the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/docs}"
docc="$(command -v docc || true)"
if [[ -z "$docc" ]]; then docc="$(dirname "$(command -v swift)")/docc"; fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
mkdir -p "$out"
if ! "$docc" convert Documentation/Vitreous.docc --output-path "$out" --warnings-as-errors \
    --fallback-display-name Vitreous --fallback-bundle-identifier org.vitreous.docs > "$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
echo "docs: built Documentation/Vitreous.docc into $out without warnings"
