#!/usr/bin/env bash
# Builds the documentation with DocC: the design documents (Documentation/Vitreous.docc: architecture, kernels,
# register repair, adding an op), warnings are errors (a broken link or a malformed directive); then the API
# reference of every library module from its symbol graph, after a check that fails when a public symbol has no
# doc comment (Scripts/check-doc-coverage.py). The symbol graphs come from `swift package dump-symbol-graph`,
# which builds what is not built yet (seconds after `swift build`). The site goes to .build/docs (or the folder
# given as the first argument): the articles at its top, each module's reference under api/MODULE.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/docs}"
docc="$(command -v docc || true)"
if [[ -z "$docc" ]]; then docc="$(dirname "$(command -v swift)")/docc"; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
if ! "$docc" convert Documentation/Vitreous.docc --output-path "$out" --warnings-as-errors \
    --fallback-display-name Vitreous --fallback-bundle-identifier org.vitreous.docs > "$work/log" 2>&1; then
    cat "$work/log" >&2
    exit 1
fi
echo "docs: built Documentation/Vitreous.docc into $out without warnings"
mkdir -p "$out/api"  # after the articles: docc convert replaces its output folder

if ! swift package dump-symbol-graph --skip-synthesized-members --minimum-access-level public > "$work/log" 2>&1; then
    cat "$work/log" >&2
    exit 1
fi
graphs="$(sed -n 's/^Files written to //p' "$work/log")"
python3 Scripts/check-doc-coverage.py "$graphs"
# One archive per module (DocC documents one module per archive); a module's graphs include the extensions it
# makes to other modules' types (MODULE@OTHER.symbols.json). Links to another module's symbols cannot resolve
# inside one module's archive, so the reference's warnings are counted, not fatal.
warnings=0
for module in $(python3 Scripts/check-doc-coverage.py --modules); do
    mkdir -p "$work/$module"
    cp "$graphs/$module.symbols.json" "$work/$module/"
    cp "$graphs/$module"@*.symbols.json "$work/$module/" 2>/dev/null || true
    if ! "$docc" convert --additional-symbol-graph-dir "$work/$module" --output-path "$out/api/$module" \
        --fallback-display-name "$module" --fallback-bundle-identifier "org.vitreous.$module" > "$work/log" 2>&1; then
        cat "$work/log" >&2
        exit 1
    fi
    warnings=$((warnings + $(grep -c '^warning' "$work/log" || true)))
done
echo "docs: built the API reference of every library module into $out/api ($warnings DocC warnings)"
