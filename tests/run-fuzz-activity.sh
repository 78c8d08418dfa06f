#!/bin/bash
# run-fuzz-activity.sh: builds the libFuzzer version of tests/fuzz-activity.c
# (clang, -fsanitize=fuzzer,address,undefined) and runs it for a bounded
# time over a copy of the seed corpus tests/data/activity-corpus.
#
# What it checks: the activity report parser and line reader never crash,
# never trip ASan/UBSan, never accept a line json-glib disagrees with, and
# never buffer more than one line (see the top of fuzz-activity.c).
#
# Usage: tests/run-fuzz-activity.sh [SECONDS]
#   SECONDS defaults to $AUGUR_FUZZ_SECONDS, else 60.
#   The tree must be built (make): the target links sql/libaugur-store.a and
#   common/libaugur-common.a from $AUGUR_TOP_BUILDDIR (set by make check),
#   else from the source tree.
# Output: BUILDDIR/tests/fuzz-activity-libfuzzer (the binary),
#   BUILDDIR/tests/fuzz-activity-work/ (the grown corpus; kept between runs),
#   BUILDDIR/tests/fuzz-activity-artifacts/ (crash reproducers, if any:
#   replay one with `tests/fuzz-activity FILE` or the libFuzzer binary).
# Exit: 0 no finding; 1 a finding or a build failure; 77 clang or libFuzzer
#   (Debian: apt-get install clang libclang-rt-14-dev) missing, or tree not built.
set -euo pipefail

SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AUGUR_TOP_BUILDDIR:-$SRC}
SECONDS_MAX=${1:-${AUGUR_FUZZ_SECONDS:-60}}
[[ $SECONDS_MAX =~ ^[1-9][0-9]*$ ]] || { echo "run-fuzz-activity: SECONDS must be a positive integer" >&2; exit 1; }

skip() { echo "run-fuzz-activity: SKIP: $*"; exit 77; }

CC=${CLANG:-clang}
command -v "$CC" >/dev/null 2>&1 || skip "no clang (apt-get install clang libclang-rt-14-dev)"
command -v pkg-config >/dev/null 2>&1 || skip "no pkg-config"
for lib in sql/libaugur-store.a common/libaugur-common.a; do
    [[ -r $BUILD/$lib ]] || skip "$BUILD/$lib not built (run make first)"
done
[[ -r $BUILD/config.h ]] || skip "$BUILD/config.h missing (run configure first)"

OUT=$BUILD/tests
mkdir -p -- "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf -- "$TMP"' EXIT

# libFuzzer present?  (clang without libclang-rt-*-dev links nothing.)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$TMP/probe.c"
"$CC" -fsanitize=fuzzer "$TMP/probe.c" -o "$TMP/probe" >/dev/null 2>&1 ||
    skip "$CC cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"

BIN=$OUT/fuzz-activity-libfuzzer
# shellcheck disable=SC2046  # pkg-config output is a list of flags
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DAUGUR_FUZZ_LIBFUZZER -DG_LOG_DOMAIN='"augur-fuzz"' -DG_LOG_USE_STRUCTURED=1 \
    -I"$BUILD" -I"$SRC/plugin" -I"$SRC/sql" -I"$SRC/common" \
    "$SRC/tests/fuzz-activity.c" "$SRC/plugin/activity.c" \
    "$BUILD/sql/libaugur-store.a" "$BUILD/common/libaugur-common.a" \
    $(pkg-config --cflags --libs glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0 libvirt sqlite3 zlib) \
    -lm -o "$BIN" || { echo "run-fuzz-activity: build failed" >&2; exit 1; }

WORK=$OUT/fuzz-activity-work
ART=$OUT/fuzz-activity-artifacts
mkdir -p -- "$WORK" "$ART"
echo "run-fuzz-activity: fuzzing for $SECONDS_MAX s (corpus $WORK, seeds $SRC/tests/data/activity-corpus)"
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1 \
    "$BIN" -max_total_time="$SECONDS_MAX" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$ART/" \
    "$WORK" "$SRC/tests/data/activity-corpus" 2>"$TMP/log" || rc=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: Running with|==[0-9]+==ERROR|SUMMARY)' "$TMP/log" || true
if ((rc != 0)); then
    tail -n 40 "$TMP/log"
    echo "run-fuzz-activity: FAIL (exit $rc); reproducers in $ART" >&2
    exit 1
fi
echo "run-fuzz-activity: no findings in $SECONDS_MAX s"
