#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/ (AddressSanitizer + coverage over every Vitreous module) and runs
# them one after another, each for a time or a number of executions:
#   Scripts/fuzz.sh --smoke                      # CI: 20 s per target (six targets)
#   Scripts/fuzz.sh --time 600 FuzzPNG           # one target for ten minutes
#   Scripts/fuzz.sh --runs 1000000               # every target to a million executions
# The working corpus grows in Fuzz/.work/<target>/corpus (seeded from Fuzz/Corpus/<target>, outside git);
# crash, leak, timeout and out-of-memory inputs are written to Fuzz/.work/<target>/. Exits nonzero when any
# target finds one. Prints executions, exec/s, coverage and corpus size per target.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
limit=(-max_total_time=20)
targets=()
extra=()
while (($#)); do
    case "$1" in
        --smoke) limit=(-max_total_time=20); shift ;;
        --time) limit=(-max_total_time="${2:?--time needs seconds}"); shift 2 ;;
        --runs) limit=(-runs="${2:?--runs needs a count}"); shift 2 ;;
        --) shift; extra=("$@"); break ;;  # passed to libFuzzer as they are
        -h|--help) usage ;;
        Fuzz*) targets+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
((${#targets[@]})) || targets=(FuzzSafetensors FuzzPNG FuzzJPEG FuzzWebP FuzzCLI FuzzCheckpoint)

# -enable-testing: FuzzCLI reaches the internal command types through @testable import. lld: gold fails
# with an internal error on these executables.
build=(swift build -c release --package-path Fuzz --scratch-path Fuzz/.build
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld)
for target in "${targets[@]}"; do "${build[@]}" --product "$target"; done
bin="$("${build[@]}" --show-bin-path)"

failed=()
for target in "${targets[@]}"; do
    work="Fuzz/.work/$target"
    mkdir -p "$work/corpus"
    log="$work/last-run.log"
    echo "== $target (${limit[*]})"
    status=0
    # Bounds per execution: 10 s (a hang; starved of CPU by other work one parse has taken 2 s), 2 GB
    # resident, no single allocation over 512 MB. Leak checking is on (AddressSanitizer's default under
    # libFuzzer). The seeds are read but only new inputs are saved,
    # into the working corpus.
    "$bin/$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$work/" "${extra[@]}" "$work/corpus" "Fuzz/Corpus/$target" \
        > "$log" 2>&1 || status=$?
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    seconds=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "?")
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    corpus=$(find "$work/corpus" -type f | wc -l)
    echo "$target: $executions executions in ${seconds:-?} s ($speed exec/s), cov $coverage, corpus $corpus files"
    if ((status != 0)); then
        grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 >&2 || true
        echo "$target: FAILED (exit $status); log $log, inputs in $work/" >&2
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz.sh: ${failed[*]} found a crash, leak, timeout or out-of-memory input" >&2
    exit 1
fi
