#!/bin/bash
# activity.sh: in-guest activity reports reach augurd's history (the
# behavioural-signals issue's integration test).
#
# Against a private libvirtd and real QEMU guests (TCG), the real augurd
# (1 s tick) and augur-guest running inside the test guest (5 s interval,
# started by the guest's /init):
#   1. reports arrive: rows in `activity` with no drops, and the activity
#      columns of `samples` get filled; the guest agent's users poll lands
#      too (source 1); the program buckets (prog_b0..7) of every report are
#      its top programs' cpu_pct, summed, and reach the samples; the user
#      buckets (user_b0..3) are present exactly when sessions are and add
#      up to them;
#   2. a burst of 300 /bin/true driven through the guest agent shows up in
#      activity.proc_starts_per_min within two report intervals;
#   3. augur-guest is killed inside the guest (the port closes and reopens):
#      reports resume with a fresh seq, the host connection is untouched;
#   4. the domain is destroyed and started again (QEMU and its socket go and
#      come back): augurd reconnects by itself and reports resume;
#   5. a guest without the channel (--no-activity-channel) is watched like
#      any other: samples, no activity rows, no connect warnings;
#   6. augur-guest's own CPU cost in the guest, from /proc/PID/stat, is
#      printed (and must stay under 2 % of a guest CPU; the figure at the
#      default interval in BENCHMARKS-activity.md is from a longer run).
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

G=act
N=noact
INTERVAL_S=5          # augur-guest's default
augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

augur_it_start_guest "$G" --max-mib 512 --cur-mib 448
augur_it_start_guest "$N" --max-mib 512 --cur-mib 448 --no-activity-channel
augur_it_wait_console "$G" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "$G did not boot"
augur_it_wait_console "$N" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "$N did not boot"
augur_it_start_augurd --tick 1 --mode observe
augur_it_wait_agent "$G" 60 || augur_it_fail "no guest agent in $G"

# rows of one domain in activity (source 0 = channel)
act_rows() {  # NAME [WHERE...]
    augur_it_sql "SELECT count(*) FROM activity a JOIN domains d ON d.id = a.domain_id
                  WHERE d.name = '$1' AND a.source = 0 ${2:+AND $2}"
}
rows_at_least() { (($(act_rows "$1" "${3:-}") >= $2)); }

# ---- 1. reports arrive ------------------------------------------------------
t0=$(date +%s)
augur_it__poll 40 rows_at_least "$G" 3 || augur_it_fail "fewer than 3 activity rows for $G within 40 s"
augur_it_log "first reports after $(($(date +%s) - t0)) s: $(augur_it_sql "SELECT seq, interval_ms, input_src,
    proc_starts_per_min, load1, top_programs FROM activity ORDER BY ts_ms DESC LIMIT 1")"
filled() {
    (($(augur_it_sql "SELECT count(*) FROM samples s JOIN domains d ON d.id = s.domain_id
                      WHERE d.name = '$G' AND s.proc_starts_per_min IS NOT NULL") >= 2))
}
augur_it__poll 20 filled || augur_it_fail "samples.proc_starts_per_min never filled for $G"
drops=$(augur_it_sql "SELECT dropped_malformed + dropped_oversize + dropped_range FROM activity_drops
                      a JOIN domains d ON d.id = a.domain_id WHERE d.name = '$G'")
[[ $drops == 0 ]] || augur_it_fail "augurd dropped $drops reports of a well-behaved guest"
agent_row() {
    (($(augur_it_sql "SELECT count(*) FROM activity a JOIN domains d ON d.id = a.domain_id
                      WHERE d.name = '$G' AND a.source = 1 AND a.users IS NOT NULL") >= 1))
}
augur_it__poll 30 agent_row || augur_it_fail "no logged-in users row from the guest agent for $G"
PROG_SUM="(prog_b0 + prog_b1 + prog_b2 + prog_b3 + prog_b4 + prog_b5 + prog_b6 + prog_b7)"
USER_SUM="(user_b0 + user_b1 + user_b2 + user_b3)"
bad_buckets=$(augur_it_sql "SELECT count(*) FROM activity a JOIN domains d ON d.id = a.domain_id
    WHERE d.name = '$G' AND a.source = 0 AND (top_programs IS NULL OR $PROG_SUM IS NULL
       OR abs($PROG_SUM - (SELECT coalesce(sum(json_extract(value, '\$.cpu_pct')), 0)
                           FROM json_each(top_programs))) > 0.01
       OR (sessions IS NULL) != (user_b0 IS NULL) OR $USER_SUM != sessions)")
[[ $bad_buckets == 0 ]] || augur_it_fail "$bad_buckets reports of $G with buckets that do not match top / sessions"
bucket_samples=$(augur_it_sql "SELECT count(*) FROM samples s JOIN domains d ON d.id = s.domain_id
                               WHERE d.name = '$G' AND s.prog_b0 IS NOT NULL")
((bucket_samples >= 2)) || augur_it_fail "samples.prog_b* filled only $bucket_samples times for $G"
augur_it_log "buckets: $bucket_samples samples; newest report $(augur_it_sql "SELECT top_programs, prog_b0, prog_b1,
    prog_b2, prog_b3, prog_b4, prog_b5, prog_b6, prog_b7, sessions, user_b0, user_b1, user_b2, user_b3
    FROM activity WHERE source = 0 ORDER BY ts_ms DESC LIMIT 1")"
augur_it_log "agent users row: $(augur_it_sql "SELECT users FROM activity WHERE source = 1 LIMIT 1")"

# ---- 2. a burst of process starts ------------------------------------------
t_start=$(date +%s%3N)
augur_it_guest_exec "$G" /bin/sh -c 'i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i + 1)); done' ||
    augur_it_fail "the burst did not run"
t_end=$(date +%s%3N)
# Forks counted by the reports received since the burst started (each covers
# the interval before it, so none of the burst is missed): rate × interval.
burst_forks() {
    augur_it_sql "SELECT CAST(coalesce(sum(proc_starts_per_min * interval_ms / 60000.0), 0) AS INTEGER)
                  FROM activity a JOIN domains d ON d.id = a.domain_id
                  WHERE d.name = '$G' AND a.source = 0 AND a.ts_ms >= $t_start"
}
burst_seen() { (($(burst_forks) >= 300)); }
augur_it__poll $((2 * INTERVAL_S + 2)) burst_seen ||
    augur_it_fail "300 process starts not in activity within two intervals of the burst's end: $(augur_it_sql \
        "SELECT group_concat(proc_starts_per_min) FROM activity WHERE ts_ms >= $t_start AND source = 0")"
augur_it_log "burst of 300 /bin/true ($((t_end - t_start)) ms in the guest) fully counted" \
    "$(($(date +%s%3N) - t_end)) ms after it ended: $(burst_forks) forks, proc_starts_per_min $(augur_it_sql \
    "SELECT group_concat(proc_starts_per_min, ', ') FROM activity WHERE ts_ms >= $t_start AND source = 0")"

# ---- 3. augur-guest restarted inside the guest -------------------------------
connects_of() {
    augur_it_sql "SELECT coalesce(max(connects), 0) FROM activity_drops a JOIN domains d ON d.id = a.domain_id
                  WHERE d.name = '$1'"
}
c_before=$(connects_of "$G")
augur_it_guest_exec "$G" /bin/sh -c 'kill $(cat /run/augur-guest.pid)' || augur_it_fail "could not kill augur-guest"
t_kill=$(date +%s%3N)
fresh() { rows_at_least "$G" 1 "a.ts_ms > $t_kill AND a.seq <= 2"; }
augur_it__poll $((3 * INTERVAL_S + 5)) fresh || augur_it_fail "no reports from the restarted augur-guest"
[[ $(connects_of "$G") == "$c_before" ]] || augur_it_fail "the host side reconnected although only the guest side restarted"
augur_it_log "augur-guest restarted in the guest: reports resumed (seq from 0), host connection kept"

# ---- 4. the domain restarts: QEMU's socket goes and comes back ----------------
uuid=$(augur_it_virsh domuuid "$G" | tr -d ' \n')
augur_it_virsh destroy "$G" >/dev/null
t_restart=$(date +%s%3N)
: >"$AUGUR_IT_CHANDIR/$G.console.log"
# same UUID, so augurd sees the same domain come back (a new libvirt id)
sed -i "s|</name>|</name><uuid>$uuid</uuid>|" "$AUGUR_IT_DIR/$G.xml"
augur_it_virsh create "$AUGUR_IT_DIR/$G.xml" >/dev/null || augur_it_fail "restarting $G failed"
augur_it_wait_console "$G" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "$G did not boot again"
after_restart() { rows_at_least "$G" 2 "a.ts_ms > $t_restart"; }
augur_it__poll 60 after_restart || augur_it_fail "no reports after the domain restarted"
c_after=$(connects_of "$G")
((c_after > c_before)) || augur_it_fail "connects did not grow ($c_before -> $c_after)"
augur_it_log "domain restarted: augurd reconnected (connects $c_before -> $c_after), reports resumed"

# ---- 5. the guest without a channel -----------------------------------------
[[ $(act_rows "$N") == 0 ]] || augur_it_fail "activity rows for $N, which has no channel"
n_samples=$(augur_it_sql "SELECT count(*) FROM samples s JOIN domains d ON d.id = s.domain_id WHERE d.name = '$N'")
((n_samples >= 10)) || augur_it_fail "only $n_samples samples of $N"
if grep -q "cannot connect to the activity channel of $N" "$AUGUR_IT_DIR/augurd.log"; then
    augur_it_fail "augurd tried to connect to $N's missing channel"
fi
grep -q "domain $N has no org.augur.activity.0 channel" "$AUGUR_IT_DIR/augurd.log" ||
    augur_it_fail "augurd did not say that $N has no channel"
augur_it_log "$N (no channel): $n_samples samples, no activity rows, no connect attempts"

# ---- 6. augur-guest's CPU cost in the guest ---------------------------------
# utime+stime (clock ticks, USER_HZ 100) of the running reporter over >= 30 s
stat_of() {
    augur_it_guest_exec "$G" /bin/sh -c \
        'p=$(cat /run/augur-guest.pid); set -- $(cut -d")" -f2 /proc/$p/stat); echo $p $((${12} + ${13})) $(cut -d" " -f1 /proc/uptime)'
}
read -r p1 ticks1 up1 <<<"$(stat_of)"
sleep 30
read -r p2 ticks2 up2 <<<"$(stat_of)"
[[ $p1 == "$p2" ]] || augur_it_fail "augur-guest restarted during the cost measurement"
cost=$(awk -v t="$((ticks2 - ticks1))" -v a="$up1" -v b="$up2" 'BEGIN { printf "%.3f", t / 100 / (b - a) * 100 }')
augur_it_log "augur-guest CPU: $((ticks2 - ticks1)) ticks in $(awk -v a="$up1" -v b="$up2" 'BEGIN { printf "%.1f", b - a }') s = $cost % of one guest CPU"
awk -v c="$cost" 'BEGIN { exit !(c < 2.0) }' || augur_it_fail "augur-guest costs $cost % of a guest CPU"

kill -0 "$AUGURD_PID" || augur_it_fail "augurd died"
augur_it_sql "SELECT d.name, a.lines, a.accepted, a.dropped_malformed, a.dropped_oversize, a.dropped_rate,
              a.dropped_range, a.connects FROM activity_drops a JOIN domains d ON d.id = a.domain_id"
augur_it_log "PASS"
