#!/bin/sh
# The short fuzzing run of one harness (CI, through CTest):
#   short_run.sh FUZZER FUZZ_DIR NAME WORK_DIR SECONDS MAX_LEN
# runs every seed of FUZZ_DIR/corpus/NAME and every input that once
# crashed the harness (FUZZ_DIR/regressions/NAME), then mutates for
# SECONDS. New
# inputs go to WORK_DIR (the committed corpus is only read); a crash input
# is written to WORK_DIR too and libFuzzer prints it (base64 when small).
# libFuzzer exits non-zero on a crash, a sanitizer report, a leak, a
# timeout (10 s on one input) or more than 2 GiB of memory.
set -eu
fuzzer=$1 fuzz_dir=$2 name=$3 work=$4 seconds=$5 max_len=$6
rm -rf "$work"
mkdir -p "$work/corpus"
regressions=""
[ -d "$fuzz_dir/regressions/$name" ] && regressions="$fuzz_dir/regressions/$name"
dict=""
[ -f "$fuzz_dir/$name.dict" ] && dict="-dict=$fuzz_dir/$name.dict"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$fuzz_dir/../tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# shellcheck disable=SC2086 # $dict and $regressions are one word or none
exec "$fuzzer" $dict -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$fuzz_dir/corpus/$name" $regressions
