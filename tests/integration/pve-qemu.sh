#!/bin/bash
# tests/integration/pve-qemu.sh: the pve backend (plugin/hv-pve.c) against a
# REAL QEMU started the way qemu-server starts one (its pidfile, its QMP
# socket, a virtio-balloon id=balloon0), with a qemu-server-style
# <vmid>.conf, and the real augurd --connect 'pve:///?run=..&conf=..'
# --mode observe: the history database must get samples of vmid 100 with
# the balloon's size and the guest's memory stats.  No libvirt, no root
# needed (TCG).  Not a Proxmox host: qemu-server itself is not run.
#
# Exit: 0 pass, 77 skip (no QEMU, no test guest), 1 fail.
# Environment: AUGUR_IT_SRCDIR, AUGUR_IT_BUILDDIR (default: make check's
#   AUGUR_TOP_SRCDIR / AUGUR_TOP_BUILDDIR, else this tree), AUGUR_IT_KEEP=1,
#   AUGUR_IT_PVE_TIMEOUT_S (default 120: boot + first stats under TCG).
set -euo pipefail

SRCDIR=${AUGUR_IT_SRCDIR:-${AUGUR_TOP_SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}}
BUILDDIR=${AUGUR_IT_BUILDDIR:-${AUGUR_TOP_BUILDDIR:-$SRCDIR}}
TIMEOUT_S=${AUGUR_IT_PVE_TIMEOUT_S:-120}
AUGURD=$BUILDDIR/plugin/augurd
QEMU=$(command -v qemu-system-x86_64 || true)

log() { printf 'pve-qemu: %s\n' "$*" >&2; }
skip() { log "SKIP: $*"; exit 77; }
fail() { log "FAIL: $*"; exit 1; }

[[ -x $AUGURD ]] || skip "augurd not built in $BUILDDIR"
[[ -n $QEMU ]] || skip "no qemu-system-x86_64"
command -v sqlite3 >/dev/null || skip "no sqlite3"

out=$("$SRCDIR/scripts/build-test-guest" 2>/dev/null) || {
    rc=$?
    ((rc == 77)) && skip "build-test-guest cannot build the guest here"
    fail "build-test-guest failed ($rc)"
}
KERNEL=$(printf '%s\n' "$out" | sed -n 's/^KERNEL=//p' | tail -n1)
INITRD=$(printf '%s\n' "$out" | sed -n 's/^INITRD=//p' | tail -n1)
[[ -r $KERNEL && -r $INITRD ]] || fail "build-test-guest printed no kernel/initrd"

DIR=$(mktemp -d /tmp/augur-pve.XXXXXX)
RUN=$DIR/run CONF=$DIR/conf
mkdir -p -- "$RUN" "$CONF"
QEMU_PID='' AUGURD_PID=''
cleanup() {
    local rc=$?
    [[ -n $AUGURD_PID ]] && kill "$AUGURD_PID" 2>/dev/null && wait "$AUGURD_PID" 2>/dev/null
    if [[ -r $RUN/100.pid ]]; then kill "$(cat "$RUN/100.pid")" 2>/dev/null || true; fi
    if ((rc != 0)); then
        log "--- augurd.log (last 20 lines) ---"; tail -n 20 "$DIR/augurd.log" >&2 || true
        log "--- console (last 10 lines) ---"; tail -n 10 "$RUN/100.console.log" >&2 || true
    fi
    [[ -n ${AUGUR_IT_KEEP:-} ]] || rm -rf -- "$DIR"
    exit "$rc"
}
trap cleanup EXIT

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
"$QEMU" -name pvetest -machine pc,accel=tcg -m 768 -smp 1 \
    -display none -nodefaults -daemonize \
    -serial "file:$RUN/100.console.log" \
    -kernel "$KERNEL" -initrd "$INITRD" \
    -append "console=ttyS0 loglevel=4 panic=-1 mitigations=off augur.workload=idle" \
    -device virtio-balloon-pci,id=balloon0 \
    -qmp "unix:$RUN/100.qmp,server=on,wait=off" \
    -pidfile "$RUN/100.pid"
[[ -s $RUN/100.pid ]] || fail "QEMU wrote no pidfile"

: >"$DIR/augur.conf"
log "starting augurd --connect pve:///?run=$RUN&conf=$CONF --mode observe"
"$AUGURD" --foreground --verbose --tick 1 --mode observe --db "$DIR/augur.db" --config "$DIR/augur.conf" \
    --socket '' --connect "pve:///?run=$RUN&conf=$CONF&timeout_ms=1000" >"$DIR/augurd.log" 2>&1 &
AUGURD_PID=$!

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
log "PASS: augurd stored balloon stats of vmid 100 through pve:/// in $((SECONDS))s"
