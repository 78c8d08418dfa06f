#!/bin/bash
# resize-vcpu.sh: the vCPU lead test of the closing-the-loop issue.
#
# A real guest (TCG, private libvirtd) with 1 of 2 vCPUs online runs a
# periodic CPU burst (2 busy loops for HOLD s every PERIOD s).  augurd runs
# in act mode at a 1 s tick.  After a warm-up, in at least 2 of the last 3
# cycles the second vCPU is online BEFORE the burst starts (hotplug or
# agent onlining), and between bursts the count returns to 1 through the
# guest agent (VIR_DOMAIN_VCPU_GUEST; never a live unplug).
# Uses at most 2 busy vCPUs (one host core each under TCG).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

PERIOD=${AUGUR_IT_PERIOD:-40}
HOLD=${AUGUR_IT_HOLD:-10}
WARMUP=3
MEASURED=3

augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

cat >"$AUGUR_IT_DIR/augur.conf" <<EOF
[policy]
shrink_sustain = 6s
shrink_cooldown = 3s
lead_margin = 3s
EOF
augur_it_start_guest cpu --max-mib 512 --cur-mib 448 --vcpus-max 2 --vcpus 1 \
    --workload periodic-cpu --param period="$PERIOD" --param hold="$HOLD" --param cpus=2 --param delay=15
augur_it_wait_console cpu '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "guest did not boot"
augur_it_wait_agent cpu 60 || augur_it_fail "no guest agent"
augur_it_start_augurd --tick 1 --mode act
total=$((WARMUP + MEASURED))
augur_it_wait_console cpu '^AUGUR-JOB-END' $((15 + total * PERIOD + 60)) "$total" >/dev/null ||
    augur_it_fail "only $(grep -ac '^AUGUR-JOB-END' "$AUGUR_IT_CHANDIR/cpu.console.log") bursts ended"
augur_it_stop_augurd

mapfile -t starts < <(grep -a '^AUGUR-JOB-START' "$AUGUR_IT_CHANDIR/cpu.console.log" | awk '{print $2}')
ok=0 back=0
for ((n = WARMUP; n < total; n++)); do
    t0=${starts[n]}
    # vCPUs in force at the burst: the last vCPU actuation before it.
    before=$(augur_it_sql "SELECT CAST(to_value AS INTEGER) FROM actuations WHERE kind = 'vcpus' AND ts_ms < $t0 * 1000 ORDER BY id DESC LIMIT 1")
    before=${before:-1}
    low=$(augur_it_sql "SELECT min(vcpus_online) FROM decisions WHERE ts_ms BETWEEN ($t0 + $HOLD + 2) * 1000 AND ($t0 + $PERIOD - 1) * 1000")
    augur_it_log "cycle $((n + 1)): vCPUs in force before the burst $before, lowest between bursts ${low:-?}"
    ((before >= 2)) && ok=$((ok + 1))
    [[ ${low:-2} -le 1 ]] && back=$((back + 1))
done
downs=$(augur_it_sql "SELECT count(*) FROM decisions WHERE cpu_action = 'vcpu-down'")
augur_it_log "ready before the burst in $ok/$MEASURED cycles; back to 1 in $back; $downs scale-downs (agent)"
((ok >= 2)) || augur_it_fail "the second vCPU was online before the burst in only $ok of $MEASURED cycles"
((back >= 2)) || augur_it_fail "the vCPU count returned to 1 in only $back of $MEASURED gaps"
augur_it_log "PASS"
