#!/usr/bin/env bash
# Fuzzes Descent's file readers with libFuzzer: safetensors, checkpoint, idx, gzip (IDX in .gz
# through zlib) and csv. Builds Fuzz/ (a package beside the root one, so the root package keeps
# no sanitizer flags) with coverage and AddressSanitizer, then runs each target from its seed
# corpus (Fuzz/corpus/TARGET) for SECONDS. libFuzzer stops on a crash, a hang (-timeout), an
# allocation larger than the input justifies (-malloc_limit_mb) or runaway memory
# (-rss_limit_mb), and leaves the input in .build-fuzz/artifacts/; add it to
# Tests/Fixtures/bad as a regression test.
#
#   Scripts/fuzz.sh                 # every target, 10 minutes each, two at a time
#   Scripts/fuzz.sh csv 60          # one target, one minute
set -euo pipefail
cd "$(dirname "$0")/.."
all=(safetensors checkpoint idx gzip csv)
chosen=${1:-all}
seconds=${2:-600}
if [ "$chosen" = all ]; then targets=("${all[@]}"); else targets=("$chosen"); fi
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t'; targets: ${all[*]}" >&2; exit 2; }
done
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")
driver=$(find "$toolchain/lib/clang" -name 'libclang_rt.fuzzer_no_main-x86_64.a' | head -n 1)
[ -n "$driver" ] || { echo "fuzz.sh: libFuzzer (libclang_rt.fuzzer_no_main) not found under $toolchain/lib/clang" >&2; exit 2; }
(cd Fuzz && swift build -c release --product DescentFuzz --scratch-path ../.build-fuzz \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    -Xcc -fsanitize=address,fuzzer-no-link -Xlinker "$driver" -Xlinker -lstdc++ 2>&1 | grep -E "error|Compiling|Build" | tail -n 3)
binary=.build-fuzz/release/DescentFuzz
mkdir -p .build-fuzz/artifacts
run() {
    local t=$1 log=.build-fuzz/$1.log
    mkdir -p ".build-fuzz/corpus/$t"
    # The first folder collects new inputs; Fuzz/corpus/$t is read as seeds.
    if DESCENT_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 "$binary" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=64 \
        -rss_limit_mb=2048 -max_len=262144 -artifact_prefix=".build-fuzz/artifacts/$t-" -print_final_stats=1 \
        ".build-fuzz/corpus/$t" "Fuzz/corpus/$t" > "$log" 2>&1; then
        echo "$t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') inputs in $seconds s, no crash, hang or oversized allocation"
    else
        echo "$t: FAILED (see $log and .build-fuzz/artifacts/)"; grep -E "ERROR|SUMMARY|==[0-9]+==" "$log" | head -n 5
        return 1
    fi
}
status=0
# Two targets at a time (the machines have two cores).
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run "${targets[i]}" & a=$!
    if [ $((i + 1)) -lt ${#targets[@]} ]; then run "${targets[i + 1]}" & b=$!; wait $b || status=1; fi
    wait $a || status=1
done
exit $status
