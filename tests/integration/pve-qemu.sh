#!/bin/bash
# tests/integration/pve-qemu.sh: the pve backend (plugin/hv-pve.c) against a
# REAL QEMU started the way qemu-server starts one (its pidfile, its QMP
# socket, a virtio-balloon id=balloon0), with a qemu-server-style
# <vmid>.conf, and the real augurd --connect 'pve:///?run=..&conf=..'
# --mode observe: the history database must get samples of vmid 100 with
# the balloon's size and the guest's memory stats.  Then the monitor is
# shared: a second QMP client, standing in for qm / pvestatd, must never
# wait more than 100 ms for its greeting while augurd runs (below).  No
# libvirt, no root needed (TCG).  Not a Proxmox host: qemu-server itself
# is not run.
#
# Exit: 0 pass, 77 skip (no QEMU, no test guest), 1 fail.
# Environment: AUGUR_IT_SRCDIR, AUGUR_IT_BUILDDIR (default: make check's
#   AUGUR_TOP_SRCDIR / AUGUR_TOP_BUILDDIR, else this tree), AUGUR_IT_KEEP=1,
#   AUGUR_IT_PVE_TIMEOUT_S (default 120: boot + first stats under TCG),
#   AUGUR_IT_PVE_SHARE_TRIES (default 3000 sessions per phase).
set -euo pipefail

TIMEOUT_S=${AUGUR_IT_PVE_TIMEOUT_S:-120}
PVE_IT_NAME=pve-qemu
. "$(dirname -- "${BASH_SOURCE[0]}")/pve-lib.sh"
pve_it_setup

cat >"$CONF/100.conf" <<'EOF'
#augur pve backend integration test
balloon: 512
cores: 1
memory: 768
name: pvetest
sockets: 1

[snapshot1]
memory: 4096
EOF

log "starting QEMU (TCG, 768 MiB) as qemu-server would: $RUN/100.{pid,qmp}"
pve_it_start_qemu 100 768 1 1 "augur.workload=idle"
PVE_IT_URI_EXTRA='&timeout_ms=1000' pve_it_start_augurd observe

q() { sqlite3 -batch -noheader "$DIR/augur.db" "$1" 2>/dev/null || true; }
deadline=$((SECONDS + TIMEOUT_S))
row=''
while ((SECONDS < deadline)); do
    kill -0 "$AUGURD_PID" 2>/dev/null || fail "augurd exited"
    row=$(q "SELECT s.state, s.mem_actual_kib, s.mem_max_kib, s.mem_available_kib, s.mem_usable_kib,
                    s.cpu_time_ns, s.vcpus_current
             FROM samples s JOIN domains d ON d.id = s.domain_id
             WHERE d.name = 'pvetest' AND d.libvirt_id = 100 AND s.mem_available_kib IS NOT NULL
             ORDER BY s.ts_ms DESC LIMIT 1")
    [[ -n $row ]] && break
    sleep 2
done
[[ -n $row ]] || fail "no sample of vmid 100 with guest memory stats within ${TIMEOUT_S}s"
log "sample: state|actual|max|available|usable|cpu_ns|vcpus = $row"
IFS='|' read -r state actual max avail usable cpu vcpus <<<"$row"
((state == 1)) || fail "state $state, not running (1)"
((actual > 700000 && actual <= 786432)) || fail "mem_actual_kib $actual is not ~768 MiB"
((max == 786432)) || fail "mem_max_kib $max, not memory: 768 MiB ([snapshot1] must be ignored)"
((avail > 0 && avail <= 786432)) || fail "mem_available_kib $avail"
((usable > 0 && usable <= avail)) || fail "mem_usable_kib $usable"
((cpu > 0)) || fail "cpu_time_ns $cpu"
((vcpus == 1)) || fail "vcpus_current $vcpus"
log "augurd stored balloon stats of vmid 100 through pve:/// in $((SECONDS))s"

# ---- sharing the monitor: a second client, standing in for qm / pvestatd
# qemu-server's <vmid>.qmp serves one client at a time; a client that
# connects while augurd's session runs gets its greeting only when augurd
# closes.  qmp_client.py greeting times connect -> greeting over TRIES
# short sessions (greeting, qmp_capabilities, query-status, close) INTERVAL
# ms apart (the client holds the monitor about a fifth of the time, so
# most of augurd's sessions meet it), first with augurd stopped (the
# QEMU's own latency, the baseline), then with augurd running (observe,
# tick 1 s, the shipped 200 ms session deadline).  Also printed: the
# longest "stats call" augurd logged meanwhile (its whole QMP session for
# the tick: an upper bound on how long it held the monitor).  Asserted:
# with augurd, no wait over 100 ms.
TRIES=${AUGUR_IT_PVE_SHARE_TRIES:-3000}
INTERVAL_MS=5
kill "$AUGURD_PID" && wait "$AUGURD_PID" || true
AUGURD_PID=''
base=$(python3 "$QMP_CLIENT" greeting "$RUN/100.qmp" "$TRIES" "$INTERVAL_MS" "$DIR/greeting-base.ms")
log "without augurd: $base"
nsamples=$(q "SELECT count(*) FROM samples")
: >"$DIR/augurd.log"
pve_it_start_augurd observe
deadline=$((SECONDS + 30))
until (($(q "SELECT count(*) FROM samples") > nsamples + 2)); do
    ((SECONDS < deadline)) || fail "augurd stored no samples after its restart"
    sleep 1
done
with=$(python3 "$QMP_CLIENT" greeting "$RUN/100.qmp" "$TRIES" "$INTERVAL_MS" "$DIR/greeting-augurd.ms")
kill -0 "$AUGURD_PID" 2>/dev/null || fail "augurd exited"
after=$(q "SELECT count(*) FROM samples")
held=$(sed -n 's/.*stats call \([0-9]*\) us.*/\1/p' "$DIR/augurd.log" | sort -n | tail -n1)
log "with augurd:    $with (augurd stored $((after - nsamples)) samples meanwhile; its longest stats call ${held:-?} us)"
wmax=$(sed -n 's/.* max_ms=\([0-9.]*\).*/\1/p' <<<"$with")
awk -v m="$wmax" 'BEGIN { exit !(m <= 100) }' ||
    fail "a second QMP client waited $wmax ms for its greeting with augurd running (limit 100 ms)"

# ---- stopping: QMP quit, as qm stop ends a QEMU (which removes its
# pidfile and socket); augurd must record a lifecycle event 5 (stopped) for
# vmid 100 within 5 s, well before its 60 s safety-net rescan.
t0=$SECONDS
pve_it_qmp "$RUN/100.qmp" quit >/dev/null 2>&1 || true
deadline=$((SECONDS + 5))
until (($(q "SELECT count(*) FROM events e JOIN domains d ON d.id = e.domain_id
            WHERE d.libvirt_id = 100 AND e.kind = 'lifecycle' AND e.event = 5") > 0)); do
    ((SECONDS < deadline)) || fail "no stopped event for vmid 100 within 5 s of its QEMU's quit"
    sleep 0.2
done
log "augurd recorded vmid 100 stopped within $((SECONDS - t0)) s of quit"
log "PASS: observe through pve:///, a second QMP client never waited over 100 ms, the stop was seen ($((SECONDS))s)"
