#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and ThreadSanitizer (each in its own build folder,
# .build-asan and .build-tsan; the package itself carries no sanitizer flags).
#
#   Scripts/sanitize.sh                 # both, every test
#   Scripts/sanitize.sh address         # one sanitizer
#   Scripts/sanitize.sh thread Threading   # one sanitizer, tests matching a filter
#
# Fails when a sanitizer reports (a report fails the test process) or a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
filter=${2:-}
sanitizers=(address thread)
[ "$which" = all ] || sanitizers=("$which")
status=0
for s in "${sanitizers[@]}"; do
    case "$s" in address|thread) ;; *) echo "sanitize.sh: unknown sanitizer '$s' (address or thread)" >&2; exit 2 ;; esac
    echo "== swift test --sanitize=$s ${filter:+--filter $filter} =="
    # No Swift backtracer: a trapping child (the error-message tests) would wait on it. The C
    # kernels are instrumented too (under TSan gemm.c compiles without target_clones, whose
    # ifunc resolvers would run before TSan's runtime starts), so that TSan sees the thread
    # pool's C11-atomic hand-off. Under ASan the distributed tests run in a pass of their own:
    # the leaks that Open MPI keeps until exit are suppressed (Scripts/lsan-suppressions.txt),
    # which needs its components kept loaded and the slow unwinder to walk through them (too
    # slow for the rest of the suite).
    passes=("--skip DistributedTrainingTests" "--filter DistributedTrainingTests")
    [ "$s" = thread ] || [ -n "$filter" ] && passes=("${filter:+--filter $filter}")
    for pass in "${passes[@]}"; do
        log=$(mktemp)
        unwind=1
        [[ "$s" = address && "$pass" == *DistributedTraining* && "$pass" != --skip* ]] && unwind=0
        # shellcheck disable=SC2086
        if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=$unwind \
            LSAN_OPTIONS=suppressions="$PWD/Scripts/lsan-suppressions.txt" OMPI_MCA_mca_base_component_disable_dlclose=1 \
            TSAN_OPTIONS=halt_on_error=1 swift test --sanitize="$s" --scratch-path ".build-${s:0:1}san" $pass > "$log" 2>&1; then
            echo "${pass:-all tests}: $(grep -E "Executed [0-9]+ tests?," "$log" | tail -n 1)"
        else
            status=1
            echo "${pass:-all tests}: FAILED"
            grep -E "ERROR: (Address|Thread)Sanitizer|WARNING: ThreadSanitizer|SUMMARY|error:|Executed [0-9]+ tests?," "$log" | head -n 20 || true
            echo "(full log: $log)"
        fi
    done
done
exit $status
