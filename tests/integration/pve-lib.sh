# shellcheck shell=bash
# tests/integration/pve-lib.sh: what the pve tests (pve-qemu.sh, pve-act.sh)
# share: the test guest, a temp dir laid out as qemu-server lays out its
# files (run/<vmid>.{pid,qmp,console.log}, conf/<vmid>.conf), a real QEMU
# started the way qemu-server starts one, and the cleanup.
#
# What it is not: Proxmox.  qemu-server, pvestatd and pmxcfs are not run;
# the QEMU command line has only what these tests need of qemu-server's
# (pidfile, -qmp unix socket, virtio-balloon id=balloon0, -smp with
# sockets/cores/maxcpus).  No libvirt, no root needed (TCG).
#
# Usage (bash, set -euo pipefail):
#   PVE_IT_NAME=pve-act; . "$(dirname "$0")/pve-lib.sh"
#   pve_it_setup                  # skip (77) or DIR, RUN, CONF, KERNEL, INITRD
#   pve_it_start_qemu VMID MEM_MIB MAXCPUS CPUS 'KERNEL CMDLINE' [QEMU ARGS...]
#   pve_it_start_augurd MODE [augurd options...]   # AUGURD_PID, DIR/augurd.log
#   pve_it_qmp SOCKET COMMAND [ARGS_JSON]          # qmp_client.py cmd
# The EXIT trap stops augurd, every QEMU started (by pidfile) and the
# test's background jobs (PVE_IT_BG_PIDS), prints the logs' tails on
# failure, and removes DIR unless AUGUR_IT_KEEP=1 or the test failed.

SRCDIR=${AUGUR_IT_SRCDIR:-${AUGUR_TOP_SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}}
BUILDDIR=${AUGUR_IT_BUILDDIR:-${AUGUR_TOP_BUILDDIR:-$SRCDIR}}
AUGURD=$BUILDDIR/plugin/augurd
QEMU=$(command -v qemu-system-x86_64 || true)
QMP_CLIENT=$SRCDIR/tests/integration/qmp_client.py
PVE_IT_NAME=${PVE_IT_NAME:-pve}
DIR='' RUN='' CONF='' KERNEL='' INITRD=''
AUGURD_PID=''
declare -ga PVE_IT_VMIDS=() PVE_IT_BG_PIDS=()

log() { printf '%s: [%4ss] %s\n' "$PVE_IT_NAME" "$SECONDS" "$*" >&2; }
skip() { log "SKIP: $*"; exit 77; }
fail() { log "FAIL: $*"; exit 1; }

pve_it__cleanup() {
    local rc=$? pid vmid
    trap - EXIT
    set +e
    [[ -n $AUGURD_PID ]] && kill "$AUGURD_PID" 2>/dev/null && wait "$AUGURD_PID" 2>/dev/null
    for pid in "${PVE_IT_BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for vmid in "${PVE_IT_VMIDS[@]}"; do
        [[ -r $RUN/$vmid.pid ]] && kill "$(cat "$RUN/$vmid.pid")" 2>/dev/null
    done
    if ((rc != 0 && rc != 77)) && [[ -n $DIR ]]; then
        log "--- augurd.log (last 20 lines) ---"; tail -n 20 "$DIR/augurd.log" >&2
        for vmid in "${PVE_IT_VMIDS[@]}"; do
            log "--- console of $vmid (last 10 lines) ---"; tail -n 10 "$RUN/$vmid.console.log" >&2
        done
        log "kept $DIR"
    elif [[ -n $DIR && -z ${AUGUR_IT_KEEP:-} ]]; then
        rm -rf -- "$DIR"
    fi
    exit "$rc"
}

pve_it_setup() {
    local out rc
    [[ -x $AUGURD ]] || skip "augurd not built in $BUILDDIR"
    [[ -n $QEMU ]] || skip "no qemu-system-x86_64"
    command -v sqlite3 >/dev/null || skip "no sqlite3"
    command -v python3 >/dev/null || skip "no python3 (the test's own QMP client)"
    out=$("$SRCDIR/scripts/build-test-guest" 2>/dev/null) || {
        rc=$?
        ((rc == 77)) && skip "build-test-guest cannot build the guest here"
        fail "build-test-guest failed ($rc)"
    }
    KERNEL=$(printf '%s\n' "$out" | sed -n 's/^KERNEL=//p' | tail -n1)
    INITRD=$(printf '%s\n' "$out" | sed -n 's/^INITRD=//p' | tail -n1)
    [[ -r $KERNEL && -r $INITRD ]] || fail "build-test-guest printed no kernel/initrd"
    DIR=$(mktemp -d "/tmp/augur-$PVE_IT_NAME.XXXXXX")
    RUN=$DIR/run CONF=$DIR/conf
    mkdir -p -- "$RUN" "$CONF"
    trap pve_it__cleanup EXIT
}

# pve_it_start_qemu VMID MEM_MIB MAXCPUS CPUS CMDLINE [QEMU ARGS...]: a
# daemonized TCG QEMU with qemu-server's pidfile and QMP socket in RUN,
# the console in RUN/VMID.console.log, a balloon0 with free page reporting
# (qemu-server adds free-page-reporting=on since PVE 7.3), CPUS of MAXCPUS
# vCPUs plugged (qemu-server: -smp CPUS,sockets=1,cores=MAXCPUS,maxcpus=MAXCPUS).
pve_it_start_qemu() {
    local vmid=$1 mem=$2 maxcpus=$3 cpus=$4 cmdline=$5
    shift 5
    "$QEMU" -name "vm$vmid" -machine pc,accel=tcg -m "$mem" \
        -smp "$cpus,sockets=1,cores=$maxcpus,maxcpus=$maxcpus" \
        -display none -nodefaults -daemonize \
        -serial "file:$RUN/$vmid.console.log" \
        -kernel "$KERNEL" -initrd "$INITRD" \
        -append "console=ttyS0 loglevel=4 panic=-1 mitigations=off $cmdline" \
        -device virtio-balloon-pci,id=balloon0,free-page-reporting=on \
        -qmp "unix:$RUN/$vmid.qmp,server=on,wait=off" \
        -pidfile "$RUN/$vmid.pid" "$@"
    PVE_IT_VMIDS+=("$vmid")
    [[ -s $RUN/$vmid.pid ]] || fail "QEMU of $vmid wrote no pidfile"
}

# pve_it_start_augurd MODE [options...]: the real augurd on
# pve:///?run=RUN&conf=CONF, tick 1 s, the shipped defaults (an empty
# augur.conf unless the test wrote one), no API socket.
pve_it_start_augurd() {
    local mode=$1
    shift
    local model=()
    [[ -e $DIR/augur.conf ]] || : >"$DIR/augur.conf"
    # The shipped model, as installed (augurd-lib.sh augur_it_model_opts).
    [[ " $* " == *" --model"* ]] || grep -qE '^[[:space:]]*model[[:space:]]*=' "$DIR/augur.conf" ||
        model=(--model "$SRCDIR/model/default.augur")
    "$AUGURD" --foreground --verbose --tick 1 --mode "$mode" --db "$DIR/augur.db" \
        --config "$DIR/augur.conf" --socket '' "${model[@]}" \
        --connect "pve:///?run=$RUN&conf=$CONF${PVE_IT_URI_EXTRA:-}" "$@" >>"$DIR/augurd.log" 2>&1 &
    AUGURD_PID=$!
    log "augurd $AUGURD_PID --mode $mode on pve:///?run=$RUN&conf=$CONF${PVE_IT_URI_EXTRA:-} $*"
}

pve_it_qmp() {
    python3 "$QMP_CLIENT" cmd "$@"
}

# pve_it_wait_console VMID ERE TIMEOUT_S: until the console has a line
# matching ERE.
pve_it_wait_console() {
    local deadline=$((SECONDS + $3))
    until grep -aqE -- "$2" "$RUN/$1.console.log" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}
