#!/usr/bin/env bash
# libFuzzer + AddressSanitizer on every parser of untrusted bytes (Fuzz/Sources/lstm-fuzz/Targets.swift).
#   scripts/fuzz.sh --list                    the targets
#   scripts/fuzz.sh TARGET SECONDS [OPTS...]  fuzz one target for SECONDS (extra libFuzzer options allowed)
#   scripts/fuzz.sh --all SECONDS             every target in turn (CI runs this briefly)
# The corpus grows in Fuzz/.build/corpus/TARGET, seeded from the committed Fuzz/Corpus/TARGET
# (scripts/make_fuzz_seeds.sh); crashes, property failures, timeouts (>10 s per input) and allocations over
# 2 GiB are findings, written to Fuzz/.build/findings/. Exit status: 0 when no finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runtime="$(dirname "$(swiftc -print-target-info | sed -n 's/.*"runtimeResourcePath": "\(.*\)".*/\1/p')")/clang"
rt="$(ls "$runtime"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1)"
[ -n "$rt" ] || rt="$(find "$(dirname "$(command -v swiftc)")/.." -name 'libclang_rt.fuzzer_no_main-*.a' | head -1)"
# Optimized (-O, whole module) by default: several times the executions of a debug build, and the targets'
# property checks are preconditions, which -O keeps (never -Ounchecked). FUZZ_CONFIG=debug for readable traces.
config="${FUZZ_CONFIG:-release}"
bin="Fuzz/.build/$config/lstm-fuzz"

build() {
  # Coverage through the frontend only: the driver would also link libFuzzer's main, which the program
  # replaces with its own (top-level code calling LLVMFuzzerRunDriver). -enable-testing: the targets use
  # @testable import, which an optimized build allows only then.
  swift build -c "$config" --package-path Fuzz -Xswiftc -enable-testing -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer \
    -Xswiftc -sanitize=address -Xlinker "$rt" -Xlinker -lstdc++ 2>&1 \
    | grep -E 'error|warning: .*unhandled|Compiling|Build complete' | grep -v '^\[' >&2 || true
  [ -x "$bin" ] || { echo "fuzz build failed" >&2; exit 2; }
}

run() {  # target seconds [options]
  local target="$1" seconds="$2"; shift 2
  mkdir -p "Fuzz/.build/corpus/$target" Fuzz/.build/findings Fuzz/.build/logs
  local log="Fuzz/.build/logs/$target.log" status=0
  # A budget well under libFuzzer's 2 GiB malloc limit: what the budget refuses is not a finding, what
  # gets past it and allocates gigabytes is. Swift's own backtracer is off: libFuzzer reports the crash.
  LSTMFORMAT_MEMORY_BUDGET=512M SWIFT_BACKTRACE=enable=no "$bin" "$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=4096 -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="Fuzz/.build/findings/$target-" \
    "$@" "Fuzz/.build/corpus/$target" "Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|Test unit written|Fatal error|.*Precondition failed)' "$log" || true
  [ "$status" = 0 ] || echo "$target: finding (exit $status), log $log" >&2
  return "$status"
}

case "${1:-}" in
  --list) build; "$bin" --list ;;
  --all)
    build
    status=0
    for t in $("$bin" --list); do echo "== $t"; run "$t" "${2:-10}" || status=1; done
    exit $status ;;
  ""|-h|--help) sed -n '2,9p' "$0" ;;
  *) build; run "$@" ;;
esac
