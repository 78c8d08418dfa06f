#!/bin/bash
# resize-vcpu.sh: the vCPU lead test and the agent-absent guard of the
# closing-the-loop issue.
#
# Case "cpu": a real guest (TCG, private libvirtd) with 1 of 2 vCPUs online
# runs a periodic CPU burst (2 busy loops for HOLD s every PERIOD s).
# augurd runs in act mode at a 1 s tick.  After a warm-up, over the last
# MEASURED cycles:
#   - ready: in at least 2 the second vCPU is online BEFORE the burst starts
#     (the vCPU count in force at the burst's start, from the last vCPU
#     actuation before it);
#   - given back: in at least 2 gaps the count returns to 1 between bursts
#     (the lowest online count augurd recorded between HOLD + 2 s after the
#     start and 1 s before the next), and every scale-down went through the
#     guest agent: libvirt's live (plugged) count never drops, no live
#     unplug.
# Case "noagent": the same guest booted without the org.qemu.guest_agent.0
# channel (augur-guest-xml --no-agent-channel; its /init then starts no
# qemu-ga).  Over 7 cycles (the forecast wants 1 vCPU in the late gaps):
#   - vCPUs still grow, by hotplug (a vcpus actuation 1 -> 2);
#   - they are never shrunk (no vcpu-down row, online count never below
#     the maximum reached);
#   - the audit rows say why (cpu_veto = no-agent in the gaps) and so does
#     augurd's log (once);
#   - libvirt's live vCPU count equals the CPUs the guest onlined (its
#     console's augur-cpu-online lines + cpu0), and it cannot be asked
#     through an agent.
# Uses at most 2 busy vCPUs (one host core each under TCG), one guest at a
# time.  Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

PERIOD=${AUGUR_IT_PERIOD:-40}
HOLD=${AUGUR_IT_HOLD:-10}
# Warm-up: the period detector first runs with two periods of history at
# tick 137 for this VM name (every 128 ticks, staggered by a hash of the
# name), and the period's quantile trackers start from the largest score
# they have seen (period.c, QTrack), so the upper bound between bursts
# can take another minute to come down: in one CI run the count first
# returned to 1 in the sixth gap (3 warm-up cycles failed there, 1 of 3
# gaps).  5 warm-up cycles measure from the sixth.
WARMUP=5
MEASURED=3
# noagent: as many gaps as the warm-up above needs: with 5 cycles one CI
# rehearsal ended before the forecast first wanted 1 vCPU (no shrink to
# veto: 0 no-agent rows in 215 s; the cpu guest's first came at 162 s).
NOAGENT_CYCLES=7

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

# boot_and_run NAME [augur-guest-xml options]: boots the burst guest with
# its own history DB and waits for it to come up.
boot_and_run() {
    local name=$1
    shift
    AUGUR_DB=$AUGUR_IT_DIR/$name.db
    augur_it_start_guest "$name" --max-mib 512 --cur-mib 448 --vcpus-max 2 --vcpus 1 \
        --workload periodic-cpu --param period="$PERIOD" --param hold="$HOLD" --param cpus=2 \
        --param delay=15 "$@"
    augur_it_wait_console "$name" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "$name did not boot"
}

# wait_cycles NAME N: until burst N + 1 starts, so the gap after burst N is
# whole in the history.
wait_cycles() {
    local name=$1 n=$2
    augur_it_wait_console "$name" '^AUGUR-JOB-START' $((15 + n * PERIOD + 60)) "$((n + 1))" >/dev/null ||
        augur_it_fail "$name: only $(grep -ac '^AUGUR-JOB-START' "$AUGUR_IT_CHANDIR/$name.console.log") bursts started"
}

# ------------------------------------------------------------ with the agent
boot_and_run cpu
augur_it_wait_agent cpu 60 || augur_it_fail "no guest agent"
augur_it_start_augurd --tick 1 --mode act
total=$((WARMUP + MEASURED))
wait_cycles cpu "$total"
augur_it_stop_augurd

mapfile -t starts < <(grep -a '^AUGUR-JOB-START' "$AUGUR_IT_CHANDIR/cpu.console.log" | awk '{print $2}')
ok=0 back=0
for ((n = WARMUP; n < total; n++)); do
    t0=${starts[n]}
    # vCPUs in force at the burst: the last vCPU actuation before it.
    before=$(augur_it_sql "SELECT CAST(to_value AS INTEGER) FROM actuations WHERE kind = 'vcpus' AND ts_ms < $t0 * 1000 ORDER BY id DESC LIMIT 1")
    before=${before:-1}
    low=$(augur_it_sql "SELECT min(vcpus_online) FROM decisions WHERE ts_ms BETWEEN ($t0 + $HOLD + 2) * 1000 AND ($t0 + $PERIOD - 1) * 1000")
    up_at=$(augur_it_sql "SELECT ($t0 * 1000 - max(ts_ms)) / 1000.0 FROM actuations WHERE kind = 'vcpus' AND to_value = 2 AND ts_ms < $t0 * 1000")
    augur_it_log "cycle $((n + 1)): vCPUs in force before the burst $before (up ${up_at:-?} s before it), lowest between bursts ${low:-?}"
    ((before >= 2)) && ok=$((ok + 1))
    [[ ${low:-2} -le 1 ]] && back=$((back + 1))
done
downs=$(augur_it_sql "SELECT count(*) FROM decisions WHERE cpu_action = 'vcpu-down'")
# Every scale-down went through the agent: libvirt's live (plugged) count,
# sampled every tick as vcpu.current, never fell once it reached 2.
plugged_min=$(augur_it_sql "SELECT min(s.vcpus_current) FROM samples s WHERE s.ts_ms > (SELECT min(ts_ms) FROM samples WHERE vcpus_current = 2)")
augur_it_log "ready before the burst in $ok/$MEASURED cycles; back to 1 in $back; $downs scale-downs (agent); libvirt's plugged count after the first hotplug never below ${plugged_min:-?}"
((ok >= 2)) || augur_it_fail "the second vCPU was online before the burst in only $ok of $MEASURED cycles"
((back >= 2)) || augur_it_fail "the vCPU count returned to 1 in only $back of $MEASURED gaps"
[[ ${plugged_min:-0} -eq 2 ]] || augur_it_fail "libvirt's live vCPU count dropped to ${plugged_min:-?}: a live unplug"
augur_it_virsh destroy cpu >/dev/null 2>&1 || true

# ---------------------------------------------------------- without the agent
boot_and_run noagent --no-agent-channel
grep -aq 'no org.qemu.guest_agent.0 port, not starting qemu-ga' "$AUGUR_IT_CHANDIR/noagent.console.log" ||
    augur_it_fail "noagent: the guest's /init did not report a missing agent port"
augur_it__agent_ready noagent && augur_it_fail "noagent: a guest agent answers"
log_from=$(wc -l <"$AUGUR_IT_DIR/augurd.log")
augur_it_start_augurd --tick 1 --mode act
wait_cycles noagent "$NOAGENT_CYCLES"
augur_it_stop_augurd

ups=$(augur_it_sql "SELECT count(*) FROM actuations WHERE kind = 'vcpus' AND from_value = 1 AND to_value = 2")
shrinks=$(augur_it_sql "SELECT count(*) FROM decisions WHERE cpu_action IN ('vcpu-down', 'recommend-down') OR (cpu_action = 'failed' AND vcpus_target < vcpus_online)")
after_up_min=$(augur_it_sql "SELECT min(vcpus_online) FROM decisions WHERE ts_ms > (SELECT min(ts_ms) FROM actuations WHERE kind = 'vcpus' AND to_value = 2)")
vetoes=$(augur_it_sql "SELECT count(*) FROM decisions WHERE cpu_veto = 'no-agent'")
logged=$(tail -n +"$((log_from + 1))" "$AUGUR_IT_DIR/augurd.log" | grep -c 'needs the guest agent, which is absent' || true)
live=$(augur_it_virsh vcpucount noagent --live --active 2>/dev/null | tr -dc '0-9')
guest_online=$((1 + $(grep -ac '^augur-cpu-online: cpu[0-9]* online' "$AUGUR_IT_CHANDIR/noagent.console.log" || true)))
asked_guest=0
augur_it_virsh vcpucount noagent --guest >/dev/null 2>&1 && asked_guest=1
augur_it_log "noagent: hotplug ups $ups, shrinks $shrinks, lowest online after the first up ${after_up_min:-?}, no-agent vetoes $vetoes, log lines $logged, libvirt live ${live:-?}, guest onlined $guest_online CPUs"
((ups >= 1)) || augur_it_fail "noagent: vCPUs never grew by hotplug"
((shrinks == 0)) || augur_it_fail "noagent: $shrinks scale-downs attempted without an agent"
[[ ${after_up_min:-0} -eq 2 ]] || augur_it_fail "noagent: the online count fell to ${after_up_min:-?} after the hotplug"
((vetoes >= 1)) || augur_it_fail "noagent: no audit row says no-agent"
((logged == 1)) || augur_it_fail "noagent: augurd logged the no-agent hold $logged times (want once)"
[[ -n $live && $live -eq $guest_online ]] ||
    augur_it_fail "noagent: libvirt says ${live:-?} live vCPUs, the guest onlined $guest_online"
((asked_guest == 0)) || augur_it_fail "noagent: virsh vcpucount --guest answered without an agent"
augur_it_log "PASS"
