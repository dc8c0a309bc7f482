#!/usr/bin/env bash
# Runs the whole Swift test suite under a sanitizer: `Scripts/sanitize.sh address` (AddressSanitizer with
# LeakSanitizer) or `Scripts/sanitize.sh thread` (ThreadSanitizer). Each has its own build folder
# (.build-asan, .build-tsan), so the normal build is not disturbed. Extra arguments go to `swift test`
# (e.g. `--filter Concurrency`). Reports land in the test output; any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-address}"
shift || true
suppressions="$PWD/Scripts/sanitizers"
case "$kind" in
address)
    # use_sigaltstack=0: the Swift runtime installs its own alternate signal stacks, and ASan's attempt to
    #   unmap its own at thread exit then fails (munmap EINVAL) and aborts the run.
    # allocator_may_return_null=1: tests ask for allocations that must fail cleanly; ASan would abort first.
    export ASAN_OPTIONS="use_sigaltstack=0:allocator_may_return_null=1:detect_leaks=1:halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    build=.build-asan
    ;;
thread)
    export TSAN_OPTIONS="suppressions=$suppressions/tsan.supp:halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
    build=.build-tsan
    ;;
*)
    echo "usage: Scripts/sanitize.sh address|thread [swift test arguments]" >&2
    exit 2
    ;;
esac
swift build --build-tests --sanitize="$kind" --build-path "$build"
swift test --skip-build --sanitize="$kind" --build-path "$build" "$@"
