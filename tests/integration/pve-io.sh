#!/bin/bash
# tests/integration/pve-io.sh: disks and networks through pve:/// on a REAL
# QEMU started the way qemu-server starts one (pve-lib.sh): augurd reads a
# disk's counters with query-blockstats and a net device's from its host
# tap (tap<vmid>i<N>), and, in act mode with the shipped defaults, raises
# the disk's own limit ahead of a periodic read and gives it back between
# reads, with QMP block_set_io_throttle as qemu-server does.
#
# The guest: vmid 100, `memory: 512` = `balloon: 512` (no room to move
# memory: only the disk limit is at play), 1 vCPU, a virtio disk virtio0
# (a raw file, id drive-virtio0 as qemu-server names it) started with a
# 5 MiB/s total limit (qemu-server: mbps=5 -> -drive ...bps=5242880), and
# the test guest's periodic-read workload: every PERIOD s it drops the page
# cache and reads 48 MiB from /dev/vda.  The per-VM policy is the augur
# block of the VM's description, io_max_mib_s = 40 (without it augur never
# raises a limit).  augurd: an empty augur.conf, --tick 1 --mode act.
# When the test runs as root with /dev/net/tun, the guest also has net0 on
# a host tap, tap100i0, as qemu-server makes it; the test sends 20 frames
# into it from the host side (the guest receives them).
#
# Measured by the test, not from augurd's rows: qmp_client.py samples
# query-block on a SECOND monitor every second (the limit in force); the
# console's read markers are host-stamped (balloon-lib.sh).  Asserted:
#   - the history has block counters (the guest's reads) and, with the
#     tap, net_rx_bytes >= the bytes sent into it;
#   - the first read, before augurd starts, ran at the static cap
#     throughout (its time is the yardstick);
#   - over the last 4 of CYCLES reads: the limit was above 5 MiB/s in the
#     newest sample >= 0.5 s before the read started in >= 3; the median
#     read took at most half the static read; the limit was back at
#     exactly 5 MiB/s at some sample between each two reads and after the
#     last; never above the 40 MiB/s ceiling;
#   - augur's audit has forecast-burst and restore rows for virtio0.
# The last line: RESULT case=pve-io verdict=PASS|FAIL <figures>.
#
# What it is not: Proxmox (see pve-lib.sh).  qemu-server's own hotplug
# of a changed mbps= is not run: augur's raise is live only, as a QMP
# call, and the config keeps the admin's value.
#
# Exit: 0 pass, 77 skip, 1 fail.  About 10 min (boot, 8 × 60 s, the restore).
# Environment: as pve-lib.sh; AUGUR_IT_PVE_IO_CYCLES / _PERIOD for trying
# the script out quickly (the suite never sets them).
set -euo pipefail

PVE_IT_NAME=pve-io
. "$(dirname -- "${BASH_SOURCE[0]}")/pve-lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/balloon-lib.sh"

CYCLES=${AUGUR_IT_PVE_IO_CYCLES:-8}
PERIOD=${AUGUR_IT_PVE_IO_PERIOD:-60}
SIZE_MIB=48
DELAY=20
CAP=$((5 * 1048576))
CEILING_MIB=40
FIRST_MEASURED=$((CYCLES - 3))
TAP=tap100i0
NET_FRAMES=20 NET_FRAME_BYTES=114

pve_it_setup
AUGUR_IT_DIR=$DIR AUGUR_IT_CHANDIR=$RUN
augur_it_log() { log "$*"; }

WITH_TAP=0
if ((EUID == 0)) && [[ -c /dev/net/tun ]] && command -v ip >/dev/null; then
    ip link del "$TAP" 2>/dev/null || true
    ip tuntap add dev "$TAP" mode tap && WITH_TAP=1
fi
cleanup_tap() { if ((WITH_TAP)); then ip link del "$TAP" 2>/dev/null; fi; return 0; }
trap 'rc=$?; cleanup_tap; (exit $rc); pve_it__cleanup' EXIT

{
    printf '%s\n' '#augur I/O test (tests/integration/pve-io.sh)' '#```augur' "#io_max_mib_s = $CEILING_MIB" '#```'
    printf '%s\n' 'agent: 0' 'balloon: 512' 'cores: 1' 'memory: 512' 'name: pveio' 'sockets: 1'
    printf '%s\n' "virtio0: local:100/vm-100-disk-0.raw,mbps=5,size=$((SIZE_MIB + 16))M"
    if ((WITH_TAP)); then printf '%s\n' 'net0: virtio=BC:24:11:00:01:00,bridge=vmbr0'; fi
} >"$CONF/100.conf"
truncate -s $((SIZE_MIB + 16))M "$DIR/disk.raw"
args=(-drive "file=$DIR/disk.raw,if=none,id=drive-virtio0,format=raw,throttling.bps-total=$CAP"
      -device virtio-blk-pci,drive=drive-virtio0,id=virtio0
      -qmp "unix:$RUN/test.qmp,server=on,wait=off")
nic=''
if ((WITH_TAP)); then
    args+=(-netdev "tap,id=net0,ifname=$TAP,script=no,downscript=no"
           -device virtio-net-pci,netdev=net0,id=net0,mac=BC:24:11:00:01:00)
    nic=", net0 on $TAP"
else
    log "net: not tested here (needs root, /dev/net/tun and ip)"
fi
log "QEMU (TCG, 512 MiB, virtio0 at 5 MiB/s$nic) reading $SIZE_MIB MiB every ${PERIOD}s, $CYCLES times"
pve_it_start_qemu 100 512 1 1 \
    "augur.workload=periodic-read augur.period=$PERIOD augur.size_mib=$SIZE_MIB augur.delay=$DELAY" "${args[@]}"
augur_it_stamp_console 100
pve_it_wait_console 100 '^AUGUR-GUEST-READY' 180 || fail "the guest did not boot"
PVE_IT_BG_PIDS=("${AUGUR_IT_BG_PIDS[@]}")

: >"$DIR/limits.log"
python3 "$QMP_CLIENT" limits "$RUN/test.qmp" drive-virtio0 "$DIR/limits.log" --ppid $$ 2>>"$DIR/sampler.err" &
PVE_IT_BG_PIDS+=($!)
# The yardstick first: read 1 at the static cap with no augurd at all.
# (augurd raises a disk that sits at its cap after one tick, io-limit.h
# rule 3b, so a read under augurd is no static read.)
deadline=$((SECONDS + 180 + DELAY + PERIOD))
until grep -q 'AUGUR-JOB-END.*job=read' "$DIR/100.stamps" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the first read did not end in time"
    sleep 1
done
pve_it_start_augurd act

if ((WITH_TAP)); then
    ip link set "$TAP" up
    python3 - "$TAP" "$NET_FRAMES" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"augur-pve-io" * 8
for _ in range(int(sys.argv[2])):
    s.send(frame)
EOF
fi

reads_done() {
    local n
    kill -0 "$AUGURD_PID" 2>/dev/null || fail "augurd exited"
    n=$(grep -c 'AUGUR-JOB-END.*job=read' "$DIR/100.stamps" 2>/dev/null) || n=0
    ((n >= CYCLES))
}
deadline=$((SECONDS + 180 + DELAY + CYCLES * PERIOD))
until reads_done; do
    ((SECONDS < deadline)) || fail "only $(grep -c 'AUGUR-JOB-END.*job=read' "$DIR/100.stamps") of $CYCLES reads ended in time"
    sleep 2
done
# The restore after the last read: poll the sampler's log until the limit
# is back at the cap, 90 s at most (as io-limit.sh).
last_end=$(awk '/AUGUR-JOB-END.*job=read/ { t = $1 } END { printf "%.3f", t }' "$DIR/100.stamps")
back_at_cap() { awk -v a="$last_end" -v cap="$CAP" '$1 > a && $2 == cap { f = 1 } END { exit !f }' "$DIR/limits.log"; }
deadline=$((SECONDS + 90))
until back_at_cap || ((SECONDS >= deadline)); do sleep 2; done
kill "$AUGURD_PID" && wait "$AUGURD_PID" || true
AUGURD_PID=''
augur_it_stop_measuring

# ---- figures --------------------------------------------------------------------
q() { sqlite3 -batch -noheader "$DIR/augur.db" "$1" 2>/dev/null || true; }
blk=$(q "SELECT max(s.block_rd_bytes) FROM samples s JOIN domains d ON d.id = s.domain_id WHERE d.libvirt_id = 100")
net=$(q "SELECT max(s.net_rx_bytes) FROM samples s JOIN domains d ON d.id = s.domain_id WHERE d.libvirt_id = 100")
log "history: block_rd_bytes up to ${blk:-none}, net_rx_bytes up to ${net:-none}"

# start/end host stamps of each read, in order
awk '/AUGUR-JOB-START.*job=read/ { s[++n] = $1 } /AUGUR-JOB-END.*job=read/ { e[++m] = $1 }
     END { for (i = 1; i <= n && i <= m; i++) printf "%d %.3f %.3f\n", i, s[i], e[i] - s[i] }' \
    "$DIR/100.stamps" >"$DIR/reads.log"
STATIC_S=$(awk '$1 == 1 { print $3 }' "$DIR/reads.log")
read -r s1 d1 < <(awk '$1 == 1 { print $2, $3 }' "$DIR/reads.log")
static_ok=$(awk -v a="$s1" -v b="$d1" -v cap="$CAP" '$1 >= a && $1 <= a + b { n++; if ($2 != cap) bad++ }
                END { print (n > 0 && !bad) ? 1 : 0 }' "$DIR/limits.log")
log "read 1 (the yardstick): ${STATIC_S} s, at the static cap throughout: $static_ok"

RAISED=0 RESTORED=0 GAPS=0
DURS=()
while read -r c start took; do
    ((c >= FIRST_MEASURED && c <= CYCLES)) || continue
    DURS+=("$took")
    before=$(awk -v t="$start" '$1 <= t - 0.5 && $2 != "-" { v = $2 } END { print v }' "$DIR/limits.log")
    ((${before:-0} > CAP)) && RAISED=$((RAISED + 1))
    end=$(awk -v a="$start" -v b="$took" 'BEGIN { printf "%.3f", a + b }')
    next=$(awk -v a="$start" -v p="$PERIOD" 'BEGIN { printf "%.3f", a + p - 1 }')
    GAPS=$((GAPS + 1))
    awk -v a="$end" -v b="$next" -v cap="$CAP" '$1 > a && $1 < b && $2 == cap { f = 1 } END { exit !f }' \
        "$DIR/limits.log" && RESTORED=$((RESTORED + 1))
    log "read $c: limit ${before:-?} B/s 0.5 s before it, took ${took} s"
done <"$DIR/reads.log"
MEDIAN=$(printf '%s\n' "${DURS[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
SPEEDUP=$(awk -v s="$STATIC_S" -v m="$MEDIAN" 'BEGIN { printf "%.2f", (m > 0) ? s / m : 0 }')
MAXLIM=$(awk '$2 != "-" && $2 > m { m = $2 } END { print m + 0 }' "$DIR/limits.log")
burst=$(q "SELECT count(*) FROM actuations WHERE device = 'virtio0' AND reason = 'forecast-burst'")
restore=$(q "SELECT count(*) FROM actuations WHERE device = 'virtio0' AND reason = 'restore'")
log "raised before the read: $RAISED/${#DURS[@]}; back at 5 MiB/s after: $RESTORED/$GAPS; static ${STATIC_S} s," \
    "median ${MEDIAN} s (${SPEEDUP}x); highest limit $MAXLIM B/s; audit rows: $burst forecast-burst, $restore restore"

why=()
((${blk:-0} > 0)) || why+=("no block counters in the history")
if ((WITH_TAP)); then
    ((${net:-0} >= NET_FRAMES * NET_FRAME_BYTES)) || why+=("net_rx_bytes ${net:-none} < the $((NET_FRAMES * NET_FRAME_BYTES)) bytes sent into $TAP")
fi
((static_ok)) || why+=("the first read did not run at the static cap (no yardstick)")
((${#DURS[@]} == 4)) || why+=("${#DURS[@]} measured reads, not 4")
((MAXLIM <= CEILING_MIB * 1048576)) || why+=("a limit of $MAXLIM B/s is above the ceiling")
((RAISED >= 3)) || why+=("raised before only $RAISED of the last 4 reads")
awk -v x="$SPEEDUP" 'BEGIN { exit !(x >= 2) }' || why+=("the reads were only ${SPEEDUP}x faster")
((RESTORED == GAPS)) || why+=("back at 5 MiB/s after only $RESTORED of $GAPS reads")
((${burst:-0} > 0 && ${restore:-0} > 0)) || why+=("no forecast-burst and restore rows for virtio0 in the audit")
verdict=PASS
((${#why[@]} == 0)) || verdict=FAIL
log "RESULT case=pve-io verdict=$verdict raised=$RAISED/4 restored=$RESTORED/$GAPS speedup=${SPEEDUP}x net=$WITH_TAP${why:+ -- $(IFS=';'; printf '%s' "${why[*]}")}"
[[ $verdict == PASS ]]
