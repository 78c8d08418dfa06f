#!/bin/bash
# guards.sh: the resize loop's safety guards on real guests (TCG, private
# libvirtd, real augurd).  Each guard is shown against a control, so the
# test fails if the guard is missing, not only if it misfires:
#   1. recommend mode never actuates (control: act mode on the same guest
#      does shrink an oversized, idle balloon);
#   2. frozen balloon stats (stats period 0: balloon.last-update stops
#      advancing) -> no shrink;
#   3. stale data after a libvirtd restart -> no action until fresh samples
#      arrive (the first decisions after the reconnect are vetoed);
#   4. host reserve: two guests competing under a small [host]
#      mem_budget_mib never get more than the budget together, and the
#      loser is recorded.
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT
LV=$AUGUR_IT_DIR/lv

conf() {   # fast time constants for a test; extra lines from "$@"
    {
        printf '[policy]\nshrink_sustain = 4s\nshrink_cooldown = 2s\nshrink_step_mib = 64\n'
        printf '%s\n' "$@"
    } >"$AUGUR_IT_DIR/augur.conf"
}
balloon_kib() { augur_it_virsh domstats --balloon -- "$1" | sed -n 's/^ *balloon\.current=//p'; }
n_actuations() { augur_it_sql "SELECT count(*) FROM actuations a JOIN domains d ON d.id = a.domain_id WHERE d.name = '$1' AND a.kind = '$2'"; }

# An idle guest with far too much memory: augur wants to shrink it.
# Far too much even for the memory guard's generous cushion on an idle host
# (half the maximum above what it uses: ~200 + 768 MiB of 1400).  Only the
# pages the guest touches cost host memory under TCG.
augur_it_start_guest g1 --max-mib 1536 --cur-mib 1400 --vcpus-max 2 --vcpus 2
augur_it_wait_console g1 '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "g1 did not boot"
augur_it_wait_balloon g1 60 || augur_it_fail "g1: no balloon stats"
# The guest boots with all of <memory> and inflates to currentMemory: let
# the balloon settle first, or that move would be blamed on augur.
settled() { local b; b=$(balloon_kib g1); [[ -n $b ]] && ((b <= 1401 * 1024)); }
augur_it__poll 60 settled || augur_it_fail "g1's balloon never settled at 1400 MiB"

# ---- 1. recommend never actuates --------------------------------------------
conf
AUGUR_DB=$AUGUR_IT_DIR/recommend.db
augur_it_start_augurd --tick 1 --mode recommend
b0=$(balloon_kib g1)
sleep 25
augur_it_stop_augurd
recs=$(augur_it_sql "SELECT count(*) FROM decisions WHERE mem_action LIKE 'recommend-%'")
acts=$(augur_it_sql "SELECT count(*) FROM actuations")
b1=$(balloon_kib g1)
augur_it_log "recommend: $recs recommendations, $acts actuations, balloon $((b0 / 1024)) -> $((b1 / 1024)) MiB"
((recs > 0)) || augur_it_fail "recommend mode recommended nothing on an oversized idle guest (no control)"
((acts == 0)) || augur_it_fail "recommend mode actuated $acts times"
((b1 == b0)) || augur_it_fail "the balloon moved in recommend mode"

# ---- 2. frozen stats: no shrink ----------------------------------------------
augur_it_virsh dommemstat g1 --period 0 --live >/dev/null
sleep 3
AUGUR_DB=$AUGUR_IT_DIR/frozen.db
# augurd sets the stats period itself at start: freeze again right after.
augur_it_start_augurd --tick 1 --mode act
augur_it_wait_ticks 2 30 || augur_it_fail "no ticks"
augur_it_virsh dommemstat g1 --period 0 --live >/dev/null
freeze_ms=$(date +%s%3N)
sleep 25
augur_it_stop_augurd
# Stale from 10 s after the last update augurd saw (plugin/resize.c
# STALE_AFTER_MIN_S; one more may land after the freeze) plus a tick:
# with this file's 4 s evidence the guest may shrink until then, never after.
frozen_shrinks=$(augur_it_sql "SELECT count(*) FROM actuations WHERE to_value < from_value AND ts_ms > $freeze_ms + 12000")
stale=$(augur_it_sql "SELECT count(*) FROM decisions WHERE mem_veto = 'stale-stats'")
augur_it_log "frozen stats: $frozen_shrinks shrinks after the freeze, $stale decisions vetoed as stale"
((frozen_shrinks == 0)) || augur_it_fail "augur shrank a guest whose stats were frozen"
((stale > 0)) || augur_it_fail "no stale-stats veto recorded"

# control: with live stats, act mode shrinks the same guest
augur_it_virsh dommemstat g1 --period 1 --live >/dev/null
AUGUR_DB=$AUGUR_IT_DIR/act.db
augur_it_start_augurd --tick 1 --mode act
shrunk() {
    local n
    n=$(augur_it_sql "SELECT count(*) FROM actuations WHERE to_value < from_value" 2>/dev/null) || n=0
    ((${n:-0} > 0))
}
augur_it__poll 60 shrunk || augur_it_fail "control failed: act mode never shrank the oversized idle guest"
augur_it_log "control: act mode shrank g1 ($(augur_it_sql "SELECT count(*) FROM actuations") actuations)"

# ---- 3. stale after a libvirtd restart ----------------------------------------
pid=$(cat -- "$LV/pid")
kill -TERM "$pid"
augur_it_wait_log "lost connection" 1 20 || augur_it_fail "augurd did not notice libvirtd going away"
t_restart=$(date +%s%3N)
"$AUGUR_IT_SRCDIR/scripts/augur-libvirtd" start "$LV" >/dev/null
augur_it_wait_log "connected to" 2 60 || augur_it_fail "augurd did not reconnect"
sleep 6
first=$(augur_it_sql "SELECT mem_veto FROM decisions WHERE ts_ms > $t_restart ORDER BY id LIMIT 1")
early=$(augur_it_sql "SELECT count(*) FROM actuations WHERE ts_ms > $t_restart AND ts_ms <
                      (SELECT ts_ms FROM decisions WHERE ts_ms > $t_restart ORDER BY id LIMIT 1 OFFSET 1)")
augur_it_log "after reconnect: first decision veto '$first', actuations before fresh samples: $early"
[[ $first == stale-stats ]] || augur_it_fail "the first decision after reconnect was not vetoed as stale ($first)"
((early == 0)) || augur_it_fail "augur acted before fresh samples arrived"
augur_it_stop_augurd
augur_it_virsh destroy g1 >/dev/null

# (Agent absent -> no vCPU scale-down is proved by test-policy's
# /policy/vcpus case; on a real guest it needs a guest without qemu-ga,
# which the test guest respawns — not covered here yet.)

# ---- 4. host reserve with two guests competing --------------------------------
BUDGET_MIB=720
conf '[host]' "mem_budget_mib = $BUDGET_MIB"
augur_it_start_guest h1 --max-mib 512 --cur-mib 300 --workload periodic-mem --param period=30 --param size_mib=180 --param hold=15
augur_it_start_guest h2 --max-mib 512 --cur-mib 300 --workload periodic-mem --param period=30 --param size_mib=180 --param hold=15 --param delay=5
augur_it_wait_console h1 '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "h1 did not boot"
augur_it_wait_console h2 '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "h2 did not boot"
AUGUR_DB=$AUGUR_IT_DIR/budget.db
augur_it_start_augurd --tick 1 --mode act
sleep 70
augur_it_stop_augurd
# The sum of targets decided in one tick never exceeds the budget, except
# when the floors alone do (never below used + reserve, never shrink a
# stale guest): then the floors are kept and that is reported.
over=$(augur_it_sql "SELECT count(*) FROM (SELECT ts_ms, sum(mem_target_kib) s,
                        sum(CASE WHEN mem_veto = 'stale-stats' THEN mem_alloc_kib
                                 ELSE min(mem_used_kib + 65536, mem_target_kib) END) f
                        FROM decisions GROUP BY ts_ms)
                     WHERE s > $BUDGET_MIB * 1024 + 1024 AND f <= $BUDGET_MIB * 1024")
floors=$(augur_it_sql "SELECT count(*) FROM (SELECT ts_ms, sum(mem_target_kib) s FROM decisions GROUP BY ts_ms)
                       WHERE s > $BUDGET_MIB * 1024 + 1024")
losers=$(augur_it_sql "SELECT count(*) FROM decisions WHERE note LIKE 'arbitration:%'")
augur_it_log "budget $BUDGET_MIB MiB: $over ticks over budget with room to obey it, $floors ticks where the floors alone exceeded it, $losers arbitration notes"
((over == 0)) || augur_it_fail "the sum of memory targets exceeded the host budget in $over ticks"
((losers > 0)) || augur_it_fail "two guests competing for $BUDGET_MIB MiB never collided (no arbitration note)"
augur_it_log "PASS"
