#!/bin/bash
# run-fuzz.sh: builds the libFuzzer version of one fuzz target (clang,
# -fsanitize=fuzzer,address,undefined) and runs it for a bounded time over
# its seed corpus in tests/data/TARGET-corpus.  `make check` runs it once per
# target through run-fuzz-TARGET.sh.
#
#   target    what it fuzzes                                source
#   activity  the guest report parser and line reader       tests/fuzz-activity.c
#   blob    the model file loader (CRC checks skipped)       tests/fuzz-blob.c
#   trace   the trace readers, plain and gzip               tests/fuzz-trace.c
#   api     the API's request line and the metrics
#           endpoint's HTTP request head                    tests/fuzz-api.c
# What each checks besides "no crash, no ASan/UBSan report" is at the top of
# its source.
#
# Usage: tests/run-fuzz.sh TARGET [SECONDS]
#        tests/run-fuzz.sh --merge TARGET
#   SECONDS defaults to $AUGUR_FUZZ_SECONDS, else 60.
#   --merge adds to tests/data/TARGET-corpus (in the source tree) the inputs
#   of the grown corpus that reach new code, as libFuzzer's -merge=1 picks
#   them: run it after a long run, or after fixing a finding (copy the
#   reproducer into the corpus first), and commit what it adds.
#   The tree must be built (make): targets link common/libaugur-common.a
#   from $AUGUR_TOP_BUILDDIR (set by make check), else from the source tree.
# Output: BUILDDIR/tests/fuzz-TARGET-libfuzzer (the binary),
#   BUILDDIR/tests/fuzz-TARGET-work/ (the grown corpus; kept between runs),
#   BUILDDIR/tests/fuzz-TARGET-artifacts/ (crash reproducers, if any: replay
#   one with `tests/fuzz-TARGET FILE`, the plain build, or the libFuzzer one).
# Exit: 0 no finding; 1 a finding or a build failure; 77 clang or libFuzzer
#   (Debian: apt-get install clang libclang-rt-14-dev) missing, or tree not built.
set -euo pipefail

SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AUGUR_TOP_BUILDDIR:-$SRC}
MERGE=0
if [[ ${1:-} == --merge ]]; then
    MERGE=1
    shift
fi
TARGET=${1:-}
SECONDS_MAX=${2:-${AUGUR_FUZZ_SECONDS:-60}}
NAME=run-fuzz-$TARGET
[[ $SECONDS_MAX =~ ^[1-9][0-9]*$ ]] || { echo "$NAME: SECONDS must be a positive integer" >&2; exit 1; }

skip() { echo "$NAME: SKIP: $*"; exit 77; }

# Per target: sources (besides tests/fuzz-TARGET.c), extra flags, built
# libraries besides libaugur-common.a, pkg-config modules, and the largest
# input libFuzzer makes (seeds fit under it).
LIBS=()
case $TARGET in
activity)
    # the parser and the reader alone (activity-parse.h): GLib and common/
    SOURCES=("$SRC/plugin/activity-parse.c")
    FLAGS=(-I"$SRC/plugin")
    PKGS="glib-2.0 gio-2.0 json-glib-1.0"
    MAX_LEN=4096
    ;;
blob)
    SOURCES=("$SRC/model/blob.c" "$SRC/model/nn.c" "$SRC/model/nn-attn.c" "$SRC/model/nn-q.c")
    FLAGS=(-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -I"$SRC/model")
    PKGS="glib-2.0 openblas lapacke zlib"
    MAX_LEN=16384
    ;;
trace)
    SOURCES=("$SRC/model/trace.c" "$SRC/model/trace-rows.c" "$SRC/common/tar.c")
    FLAGS=(-I"$SRC/model")
    PKGS="glib-2.0 zlib"
    MAX_LEN=8192
    ;;
api)
    # the request handling (api-request.c), the API's constructor and the
    # per-uid state it keeps (api.c), the HTTP head parser (metrics.c);
    # the I/O kind table metrics.c names series with (policy/io-limit.c)
    SOURCES=("$SRC/plugin/api-request.c" "$SRC/plugin/api.c" "$SRC/plugin/metrics.c")
    LIBS=("$BUILD/policy/libaugur-policy.a")
    FLAGS=(-I"$SRC/plugin" -I"$SRC/policy")
    PKGS="glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0"
    MAX_LEN=8192
    ;;
*)
    echo "usage: run-fuzz.sh [--merge] activity|blob|trace|api [SECONDS]" >&2
    exit 1
    ;;
esac

CC=${CLANG:-clang}
command -v "$CC" >/dev/null 2>&1 || skip "no clang (apt-get install clang libclang-rt-14-dev)"
command -v pkg-config >/dev/null 2>&1 || skip "no pkg-config"
for lib in "$BUILD/common/libaugur-common.a" "${LIBS[@]}"; do
    [[ -r $lib ]] || skip "$lib not built (run make first)"
done
[[ -r $BUILD/config.h ]] || skip "$BUILD/config.h missing (run configure first)"
# shellcheck disable=SC2086  # a list of modules
pkg-config --exists $PKGS || skip "pkg-config cannot find $PKGS"

OUT=$BUILD/tests
mkdir -p -- "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf -- "$TMP"' EXIT

# libFuzzer present?  (clang without libclang-rt-*-dev links nothing.)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$TMP/probe.c"
"$CC" -fsanitize=fuzzer "$TMP/probe.c" -o "$TMP/probe" >/dev/null 2>&1 ||
    skip "$CC cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"

BIN=$OUT/fuzz-$TARGET-libfuzzer
# shellcheck disable=SC2046,SC2086  # pkg-config output is a list of flags
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DAUGUR_FUZZ_LIBFUZZER -DG_LOG_DOMAIN='"augur-fuzz"' -DG_LOG_USE_STRUCTURED=1 \
    -I"$BUILD" -I"$SRC/common" "${FLAGS[@]}" \
    "$SRC/tests/fuzz-$TARGET.c" "${SOURCES[@]}" "${LIBS[@]}" "$BUILD/common/libaugur-common.a" \
    $(pkg-config --cflags --libs $PKGS) -lm -o "$BIN" || { echo "$NAME: build failed" >&2; exit 1; }

SEEDS=$SRC/tests/data/$TARGET-corpus
WORK=$OUT/fuzz-$TARGET-work
ART=$OUT/fuzz-$TARGET-artifacts
mkdir -p -- "$WORK" "$ART"
# Model files of the current format, fresh from the plain build, so the seeds
# follow the format when it changes (the committed ones may lag behind).
if [[ $TARGET == blob && -x $OUT/fuzz-blob ]] && ((!MERGE)); then
    "$OUT/fuzz-blob" --write-seeds "$WORK" || true
fi
if ((MERGE)); then
    "$BIN" -merge=1 -max_len="$MAX_LEN" -rss_limit_mb=2048 "$SEEDS" "$WORK" 2>"$TMP/log" ||
        { tail -n 20 "$TMP/log"; echo "$NAME: merge failed" >&2; exit 1; }
    grep -E '^MERGE-OUTER: [0-9]+ new files' "$TMP/log" || true
    echo "$NAME: merged into $SEEDS (commit what is new there)"
    exit 0
fi
echo "$NAME: fuzzing for $SECONDS_MAX s (corpus $WORK, seeds $SEEDS)"
rc=0
# nice: a time-boxed fuzz run only loses a few executions to it, while the
# timing tests beside it in `make -j2 check` (pve-qemu.sh's 100 ms
# monitor-sharing bound) measure wake-up latencies a CPU-bound fuzzer
# inflates (92 ms seen in a rehearsal, 13 ms under guest load alone).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1 \
    nice -n 10 "$BIN" -max_total_time="$SECONDS_MAX" -timeout=10 -rss_limit_mb=2048 -max_len="$MAX_LEN" \
    -print_final_stats=1 -artifact_prefix="$ART/" \
    "$WORK" "$SEEDS" 2>"$TMP/log" || rc=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: Running with|==[0-9]+==ERROR|SUMMARY)' "$TMP/log" || true
if ((rc != 0)); then
    tail -n 40 "$TMP/log"
    echo "$NAME: FAIL (exit $rc); reproducers in $ART" >&2
    exit 1
fi
echo "$NAME: no findings in $SECONDS_MAX s"
