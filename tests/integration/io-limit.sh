#!/bin/bash
# io-limit.sh: augur raises a disk's own I/O limit ahead of a periodic read
# and gives it back between reads, on a real TCG guest (issue 20, the disk
# half; the network <bandwidth> half is not done yet).
#
# The guest has a virtio disk vda (a raw file) with <iotune>
# total_bytes_sec = 5 MiB/s, the admin's cap.  Every PERIOD s the host
# starts, through the guest agent (guest-exec), a read of SIZE_MIB MiB
# from /dev/vda (page cache dropped first, so every read reaches the
# disk).  One read at the static cap is timed before augurd starts.  augurd
# runs with the shipped defaults (empty augur.conf), `--tick 2 --mode act`;
# the test sets only the guest's ceiling, io_max_mib_s = 40, with
# `virt-augur policy --set` (without it augur never raises a limit).
#
# Measured from the host, independently of augur's rows: `virsh
# blkdeviotune g1 vda --live` sampled every second.  Asserted, over the
# last 4 of CYCLES reads:
#   - the limit was above 5 MiB/s in the newest sample taken >= 0.5 s
#     before the read started, in >= 3 of the 4;
#   - the median read took at most half the static-cap read;
#   - the limit was back at exactly 5 MiB/s at some sample between each
#     two measured reads, and after the last one.
# Also checked: augur's audit has forecast-burst and restore rows for vda,
# and `virt-augur explain` says "raised vda's limit from 5 to".
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

PERIOD=${AUGUR_IT_IO_PERIOD:-60}
CYCLES=${AUGUR_IT_IO_CYCLES:-7}
SIZE_MIB=48
CAP=$((5 * 1048576))
CEILING_MIB=40
FIRST_MEASURED=$((CYCLES - 3))

augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
SAMPLER_PID=
trap 'rc=$?; set +e; [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

IMG=$AUGUR_IT_DIR/data.img
truncate -s $((SIZE_MIB + 16))M "$IMG"
chown -- "$(stat -c %U "$AUGUR_IT_CHANDIR"):" "$IMG"
augur_it_start_guest g1 --data-disk "$IMG" --disk-total-bps "$CAP"
augur_it_wait_agent g1 240 || augur_it_fail "g1's guest agent did not answer within 240 s"

limit_now() {
    augur_it_virsh blkdeviotune g1 vda --live 2>/dev/null |
        awk '$1 == "total_bytes_sec:" { print $2 }'
}
[[ $(limit_now) == "$CAP" ]] || augur_it_fail "vda's limit is '$(limit_now)', not $CAP"

# One read: prints its wall time (host clock), s.
read_once() {
    local t0 t1
    t0=$EPOCHREALTIME
    augur_it_guest_exec g1 /bin/sh -c \
        "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=1M count=$SIZE_MIB 2>/dev/null" \
        >/dev/null || { augur_it_log "the read in g1 failed" >&2; return 1; }
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
STATIC_S=$(read_once) || augur_it_fail "the read at the static cap failed"
augur_it_log "a ${SIZE_MIB} MiB read at the static 5 MiB/s cap took ${STATIC_S} s"

"$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy g1 --set io_max_mib_s=$CEILING_MIB >/dev/null ||
    augur_it_fail "virt-augur policy --set io_max_mib_s failed"
augur_it_start_augurd --tick 2 --mode act

# The sampler: "unix-time total_bytes_sec" every second.
(
    while :; do
        printf '%s %s\n' "$EPOCHREALTIME" "$(limit_now)"
        sleep 1
    done
) >"$AUGUR_IT_DIR/limits.log" 2>/dev/null &
SAMPLER_PID=$!

# The reads, every PERIOD s on the host clock.
T0=$(($(date +%s) + 10))
: >"$AUGUR_IT_DIR/reads.log"
for ((c = 1; c <= CYCLES; c++)); do
    due=$((T0 + (c - 1) * PERIOD))
    while (($(date +%s) < due)); do sleep 0.2; done
    start=$EPOCHREALTIME
    took=$(read_once) || augur_it_fail "read $c failed"
    printf '%s %s %s\n' "$c" "$start" "$took" >>"$AUGUR_IT_DIR/reads.log"
    augur_it_log "read $c: ${took} s"
done
# After the last read: time for the restore (10 s of quiet, then steps 6 s
# apart: ~30 s on a quiet machine, 41 s seen under a loaded CI run).  Poll
# the sampler's log until the limit is back at the cap, 90 s at most.
last_end=$(awk 'END { printf "%.3f", $2 + $3 }' "$AUGUR_IT_DIR/reads.log")
back_at_cap() {
    awk -v a="$last_end" -v cap="$CAP" '$1 > a && $2 == cap { f = 1 } END { exit !f }' "$AUGUR_IT_DIR/limits.log"
}
augur_it__poll 90 back_at_cap || augur_it_log "the limit was not back at the cap 90 s after the last read"
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=

# ---- figures -----------------------------------------------------------------
RAISED=0 RESTORED=0 GAPS=0
DURS=()
while read -r c start took; do
    ((c >= FIRST_MEASURED)) || continue
    DURS+=("$took")
    before=$(awk -v t="$start" '$1 <= t - 0.5 && $2 != "" { v = $2 } END { print v }' "$AUGUR_IT_DIR/limits.log")
    ((${before:-0} > CAP)) && RAISED=$((RAISED + 1))
    augur_it_log "read $c: limit ${before:-?} B/s 0.5 s before it, took ${took} s"
    end=$(awk -v a="$start" -v b="$took" 'BEGIN { printf "%.3f", a + b }')
    next=$(awk -v a="$start" -v p="$PERIOD" 'BEGIN { printf "%.3f", a + p - 1 }')
    GAPS=$((GAPS + 1))
    if awk -v a="$end" -v b="$next" -v cap="$CAP" '$1 > a && $1 < b && $2 == cap { f = 1 } END { exit !f }' \
        "$AUGUR_IT_DIR/limits.log"; then
        RESTORED=$((RESTORED + 1))
    fi
done <"$AUGUR_IT_DIR/reads.log"
MEDIAN=$(printf '%s\n' "${DURS[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
SPEEDUP=$(awk -v s="$STATIC_S" -v m="$MEDIAN" 'BEGIN { printf "%.2f", s / m }')
MAXLIM=$(awk '$2 != "" && $2 > m { m = $2 } END { print m + 0 }' "$AUGUR_IT_DIR/limits.log")
augur_it_log "raised before the read: $RAISED/4; back at 5 MiB/s after the read: $RESTORED/$GAPS;" \
    "static ${STATIC_S} s, median ${MEDIAN} s (${SPEEDUP}x); highest limit seen $MAXLIM B/s"
"$VIRT_AUGUR" --db "$AUGUR_DB" actions g1 | sed 's/^/    /' | tail -n 20
"$VIRT_AUGUR" --db "$AUGUR_DB" explain g1 | sed 's/^/    /'

((MAXLIM <= CEILING_MIB * 1048576)) || augur_it_fail "a limit of $MAXLIM B/s is above the ceiling"
((RAISED >= 3)) || augur_it_fail "the limit was raised before only $RAISED of the last 4 reads"
awk -v x="$SPEEDUP" 'BEGIN { exit !(x >= 2) }' || augur_it_fail "the reads were only ${SPEEDUP}x faster"
((RESTORED == GAPS)) || augur_it_fail "the limit was back at 5 MiB/s after only $RESTORED of $GAPS reads"
(($(augur_it_sql "SELECT count(*) FROM actuations WHERE device = 'vda' AND reason = 'forecast-burst'") > 0)) ||
    augur_it_fail "no forecast-burst row in augur's audit"
(($(augur_it_sql "SELECT count(*) FROM actuations WHERE device = 'vda' AND reason = 'restore'") > 0)) ||
    augur_it_fail "no restore row in augur's audit"
augur_it_log "PASS"
