#!/bin/bash
# resilience.sh: augurd survives what a host does to it (data-path issue).
#
# Against a private libvirtd and a real QEMU guest (TCG), with the real augurd:
#   1. libvirtd unreachable at start: augurd says so, keeps running, and
#      connects when libvirtd appears;
#   2. libvirtd killed mid-run: augurd logs the loss, keeps running, and
#      reconnects when libvirtd returns; samples of the still-running guest
#      flow again;
#   3. kill -9 of augurd during writes, five times at random moments at a
#      0.5 s tick: every tick in the database is whole (all of its domains'
#      samples or none), every tick committed before each kill is still
#      there, and after one more start (which rebuilds the rollup buckets
#      open at the last kill) and a clean stop, every bucket with samples
#      has its rollup row and every row agrees with its samples.  (PRAGMA
#      integrity_check alone cannot fail here, so it is not the proof.)
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT
LV=$AUGUR_IT_DIR/lv
kill_libvirtd() {
    local pid
    pid=$(cat -- "$LV/pid")
    kill -TERM "$pid"
    augur_it__poll 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid"
}

augur_it_start_guest r1 --max-mib 512 --cur-mib 448
augur_it_start_guest r2 --max-mib 512 --cur-mib 448
augur_it_wait_console r1 '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "r1 did not boot"
augur_it_wait_console r2 '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "r2 did not boot"

# ---- 1. libvirtd unreachable at start ---------------------------------------
kill_libvirtd
augur_it_start_augurd --tick 0.5 --mode observe
augur_it_wait_log "cannot connect to" 1 15 || augur_it_fail "augurd did not report the unreachable libvirtd"
sleep 2
kill -0 "$AUGURD_PID" || augur_it_fail "augurd exited while libvirtd was down"
"$AUGUR_IT_SRCDIR/scripts/augur-libvirtd" start "$LV" >/dev/null
augur_it_wait_log "connected to" 1 60 || augur_it_fail "augurd never connected once libvirtd came up"
augur_it_log "augurd connected after libvirtd started late"
with_domains() { (($(augur_it_sql "SELECT count(*) FROM ticks WHERE n_domains = 2") >= $1)); }
augur_it__poll 30 with_domains 4 || augur_it_fail "no ticks with both guests after connecting"

# ---- 2. libvirtd killed mid-run ---------------------------------------------
kill_libvirtd
augur_it_wait_log "lost connection" 1 20 || augur_it_fail "augurd did not log the lost connection"
sleep 3
kill -0 "$AUGURD_PID" || augur_it_fail "augurd died when libvirtd went away"
before=$(augur_it_sql "SELECT count(*) FROM ticks WHERE n_domains = 2")
"$AUGUR_IT_SRCDIR/scripts/augur-libvirtd" start "$LV" >/dev/null
augur_it_wait_log "connected to" 2 60 || augur_it_fail "augurd did not reconnect"
augur_it__poll 30 with_domains $((before + 4)) || augur_it_fail "samples did not flow again after reconnect"
augur_it_log "reconnected; ticks with both guests: $before -> $(augur_it_sql "SELECT count(*) FROM ticks WHERE n_domains = 2")"
augur_it_stop_augurd

# ---- 3. kill -9 during writes -----------------------------------------------
for round in 1 2 3 4 5; do
    augur_it_start_augurd --tick 0.5 --mode observe
    n0=$(augur_it_sql "SELECT count(*) FROM ticks")
    augur_it_wait_ticks $((n0 + 3)) 30 || augur_it_fail "round $round: no ticks"
    # A random moment inside the next 0-1.5 s, i.e. anywhere in a tick.
    sleep "0.$((RANDOM % 10))"; sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    committed=$(augur_it_sql "SELECT count(*) FROM ticks")
    kill -KILL "$AUGURD_PID"
    wait "$AUGURD_PID" 2>/dev/null || true
    AUGURD_PID=
    after=$(augur_it_sql "SELECT count(*) FROM ticks")
    ((after >= committed)) || augur_it_fail "round $round: $committed ticks before kill -9, $after after"
    augur_it_log "round $round: killed at $committed committed ticks, $after in the file"
done
broken=$(augur_it_sql "SELECT count(*) FROM ticks t WHERE t.n_domains != (SELECT count(*) FROM samples s WHERE s.tick_id = t.id)")
((broken == 0)) || augur_it_fail "$broken ticks are not whole"
orphans=$(augur_it_sql "SELECT count(*) FROM samples s WHERE s.tick_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ticks t WHERE t.id = s.tick_id)")
((orphans == 0)) || augur_it_fail "$orphans samples belong to no tick"
nohost=$(augur_it_sql "SELECT count(*) FROM ticks t WHERE NOT EXISTS (SELECT 1 FROM host_samples h WHERE h.tick_id = t.id)")
((nohost == 0)) || augur_it_fail "$nohost ticks lack their host sample"
# Rollups: a bucket's row is written when it closes, so the buckets open
# at the last kill -9 are missing or partial in the file; the next open
# rebuilds them from the samples.  One more start and a clean stop, then
# every bucket with samples has its row, and every row agrees with them.
augur_it_start_augurd --tick 0.5 --mode observe
n0=$(augur_it_sql "SELECT count(*) FROM ticks")
augur_it_wait_ticks $((n0 + 2)) 30 || augur_it_fail "no ticks after the kills"
augur_it_stop_augurd
for res in 60 300; do
    mism=$(augur_it_sql "SELECT count(*) FROM rollups r WHERE r.res_s = $res AND r.n !=
            (SELECT count(*) FROM samples s WHERE s.domain_id = r.domain_id AND s.ts_ms / ($res * 1000) * $res = r.bucket_s)")
    ((mism == 0)) || augur_it_fail "$mism rollups at ${res} s disagree with their samples"
    missing=$(augur_it_sql "SELECT count(*) FROM (SELECT DISTINCT domain_id, ts_ms / ($res * 1000) * $res AS b FROM samples) k
            WHERE NOT EXISTS (SELECT 1 FROM rollups r WHERE r.domain_id = k.domain_id AND r.res_s = $res AND r.bucket_s = k.b)")
    ((missing == 0)) || augur_it_fail "$missing buckets at ${res} s have samples but no rollup"
done
[[ $(augur_it_sql "PRAGMA integrity_check") == ok ]] || augur_it_fail "integrity_check failed"
augur_it_log "all $(augur_it_sql "SELECT count(*) FROM ticks") ticks whole after 5 kill -9"
augur_it_log "PASS"
