#!/bin/bash
# tests/integration/pve-act.sh: augurd --mode act on pve:/// resizes a REAL
# QEMU started the way qemu-server starts one (pve-lib.sh), with the shipped
# defaults: it must grow the balloon ahead of a periodic 200 MiB job, let
# no job be OOM-killed, and give the memory back between jobs.
#
# The guest: vmid 100, `memory: 768`, `balloon: 256`, `shares: 0` (pvestatd
# skips a guest with no shares: it is augur's to balloon; augur may move the
# balloon within 256..768 MiB), 1 vCPU, the test guest's periodic-mem
# workload with greedy jobs (augur-memhog -g: 200 MiB at once, held 25 s;
# a balloon too small when the job starts means the guest's OOM killer
# kills it), every 120 s, 5 times, the first 60 s after boot.  Before
# augurd starts, the test sets the balloon to 256 MiB (as the libvirt
# safe-case.sh guest boots at currentMemory 256) and the stats period to
# 1 s.  augurd: an empty augur.conf, --tick 1 --mode act (safe-case.sh's
# periodic-augur case, shortened: 5 cycles instead of 7, for TCG's sake).
#
# Measured by the test, not from augurd's rows: qmp_client.py samples
# query-balloon and the balloon's guest-stats every second on a SECOND
# monitor of the QEMU (run/test.qmp), so the yardstick never queues behind
# augurd on <vmid>.qmp nor delays it; the console's markers and OOM lines
# are host-stamped by balloon-lib.sh's stamper, and augur_it_cycles there
# computes per cycle "before / used / need -> READY|late".
# Asserted:
#   - 5 jobs ran; 0 "Out of memory: Killed process" lines on the console
#     and no job ended by SIGKILL (rc=137);
#   - READY (balloon ≥ the guest's use + 200 MiB in the sample ≥ 1 s before
#     the job) in ≥ 2 of the last 3 cycles;
#   - given back: after each of jobs 2..4, the smallest balloon between the
#     job's end and the next job's start is ≥ 100 MiB below the largest
#     balloon during the job, in ≥ 2 of those 3 gaps.
# The last line: RESULT case=pve-act verdict=PASS|FAIL <figures>.
#
# Exit: 0 pass, 77 skip, 1 fail.  About 11 min (boot, 60 s, 4 × 120 s, 25 s).
# Environment: as pve-lib.sh; AUGUR_IT_PVE_CYCLES / _PERIOD for trying the
# script out quickly (the suite never sets them).
set -euo pipefail

PVE_IT_NAME=pve-act
. "$(dirname -- "${BASH_SOURCE[0]}")/pve-lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/balloon-lib.sh"

CYCLES=${AUGUR_IT_PVE_CYCLES:-5}
PERIOD=${AUGUR_IT_PVE_PERIOD:-120}
SIZE_MIB=200
HOLD=25
DELAY=60
MEASURED=3
NEED_READY=2
NEED_GIVEN=2
GIVE_MIB=100
SLACK=180

pve_it_setup
# balloon-lib.sh's stamper, cycles and OOM count read these.
AUGUR_IT_DIR=$DIR AUGUR_IT_CHANDIR=$RUN
AUGUR_IT_SAMPLES=$DIR/balloon.samples
augur_it_log() { log "$*"; }

cat >"$CONF/100.conf" <<'EOF'
#augur act-mode test (tests/integration/pve-act.sh)
agent: 0
balloon: 256
shares: 0
boot: order=scsi0
cores: 1
memory: 768
name: pveact
numa: 0
ostype: l26
sockets: 1
EOF

log "QEMU (TCG, 768 MiB, balloon: 256) with a 200 MiB job every ${PERIOD}s, $CYCLES times"
pve_it_start_qemu 100 768 1 1 \
    "augur.workload=periodic-mem augur.greedy=1 augur.period=$PERIOD augur.size_mib=$SIZE_MIB augur.hold=$HOLD augur.delay=$DELAY" \
    -qmp "unix:$RUN/test.qmp,server=on,wait=off"
augur_it_stamp_console 100
pve_it_wait_console 100 '^AUGUR-GUEST-READY' 180 || fail "the guest did not boot"
pve_it_qmp "$RUN/test.qmp" qom-set \
    '{"path": "/machine/peripheral/balloon0", "property": "guest-stats-polling-interval", "value": 1}' >/dev/null
pve_it_qmp "$RUN/test.qmp" balloon '{"value": 268435456}' >/dev/null
settled() {
    local a
    a=$(pve_it_qmp "$RUN/test.qmp" query-balloon | sed -n 's/.*"actual": *\([0-9]*\).*/\1/p')
    [[ -n $a ]] && ((a <= 257 * 1024 * 1024))
}
deadline=$((SECONDS + 60))
until settled; do
    ((SECONDS < deadline)) || fail "the balloon never settled at 256 MiB"
    sleep 1
done
log "guest up, balloon at 256 MiB"

: >"$AUGUR_IT_SAMPLES"
python3 "$QMP_CLIENT" sample "$RUN/test.qmp" 100 "$AUGUR_IT_SAMPLES" --ppid $$ 2>>"$DIR/sampler.err" &
AUGUR_IT_BG_PIDS+=($!)
PVE_IT_BG_PIDS=("${AUGUR_IT_BG_PIDS[@]}")
pve_it_start_augurd act

jobs_done() {
    local n
    kill -0 "$AUGURD_PID" 2>/dev/null || fail "augurd exited"
    n=$(grep -ac '^AUGUR-JOB-END' -- "$RUN/100.console.log" 2>/dev/null) || n=0
    ((n >= CYCLES))
}
deadline=$((SECONDS + DELAY + (CYCLES - 1) * PERIOD + HOLD + SLACK))
until jobs_done; do
    ((SECONDS < deadline)) || break
    sleep 2
done
kill "$AUGURD_PID" && wait "$AUGURD_PID" || true
AUGURD_PID=''
augur_it_stop_measuring

# ---- figures --------------------------------------------------------------------
out=$(augur_it_cycles 100 "$SIZE_MIB" "$HOLD" $((CYCLES - MEASURED + 1)))
printf '%s\n' "$out" | grep -v '^CYCLES' | while IFS= read -r l; do log "$l"; done
summary=$(grep '^CYCLES' <<<"$out")
n=$(sed -n 's/.* n=\([0-9]*\).*/\1/p' <<<"$summary")
ready=$(sed -n 's/.* ready=\([0-9]*\).*/\1/p' <<<"$summary")
measured=$(sed -n 's/.* measured=\([0-9]*\).*/\1/p' <<<"$summary")
oom=$(augur_it_oom_count 100)
killed=$(grep -ac '^AUGUR-JOB-END.* rc=137' -- "$RUN/100.console.log" || true)

# Given back: per gap after job j (2 .. n-1), the largest balloon during job
# j (start .. start + HOLD) and the smallest from its end to job j+1.
gaps=$(awk -v hold="$HOLD" -v give="$GIVE_MIB" '
    FILENAME == ARGV[1] { if ($3 != "-") { ns++; st[ns] = $1; sc[ns] = $3 }; next }
    /AUGUR-JOB-START/ { js[++nj] = $1 }
    END {
        given = 0; gaps = 0
        for (j = 2; j < nj; j++) {
            hi = -1; lo = -1
            for (i = 1; i <= ns; i++) {
                if (st[i] >= js[j] && st[i] <= js[j] + hold && sc[i] > hi) hi = sc[i]
                if (st[i] > js[j] + hold && st[i] < js[j + 1] && (lo < 0 || sc[i] < lo)) lo = sc[i]
            }
            ok = (hi >= 0 && lo >= 0 && hi - lo >= give * 1024)
            gaps++; given += ok
            printf "gap after job %d: during the job up to %d MiB, between jobs down to %d MiB -> %s\n",
                j, hi / 1024, lo / 1024, ok ? "GIVEN BACK" : "kept"
        }
        printf "GAPS n=%d given=%d\n", gaps, given
    }' "$AUGUR_IT_SAMPLES" "$DIR/100.stamps")
printf '%s\n' "$gaps" | grep -v '^GAPS' | while IFS= read -r l; do log "$l"; done
ngaps=$(sed -n 's/^GAPS n=\([0-9]*\).*/\1/p' <<<"$gaps")
given=$(sed -n 's/^GAPS.* given=\([0-9]*\).*/\1/p' <<<"$gaps")
nsamples=$(wc -l <"$AUGUR_IT_SAMPLES")
actions=$(grep -c 'balloon' "$DIR/augurd.log" || true)
log "augurd.log lines naming the balloon: $actions; test's QMP samples: $nsamples"

why=()
((n >= CYCLES)) || why+=("only $n of $CYCLES jobs ran")
((oom == 0)) || why+=("$oom OOM kills")
((killed == 0)) || why+=("$killed jobs ended by SIGKILL")
((ready >= NEED_READY)) || why+=("ready in $ready of $measured measured cycles (need $NEED_READY)")
((given >= NEED_GIVEN)) || why+=("memory given back in $given of $ngaps gaps (need $NEED_GIVEN)")
verdict=PASS
((${#why[@]} == 0)) || verdict=FAIL
log "RESULT case=pve-act verdict=$verdict jobs=$n ready=$ready/$measured oom=$oom killed=$killed given=$given/$ngaps${why:+ -- $(IFS=';'; printf '%s' "${why[*]}")}"
[[ $verdict == PASS ]]
