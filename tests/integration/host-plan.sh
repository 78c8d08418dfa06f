#!/bin/bash
# host-plan.sh: the memory guard's cushion reads the host's 4-hour view
# (plugin/host-plan.h), on a real guest (TCG, private libvirtd, real
# augurd with the shipped defaults but for the control's one line).
#
# The host's history: three days of a neighbour guest "nb" imported into
# augurd's store, ending now, whose used memory swings between 1 GiB and
# twice this host's MemTotal every 2 hours (synthetic: a host that is
# going to be short within 4 h whatever its size; the view calibrates on
# it, which the guest under test alone could not in a test's minutes).
# The guest under test is real: 512 MiB maximum and current, idle.
#
#   A. control, [host] plan_interval = 0 (no view): the host has room, so
#      the new guest keeps its generous cushion (512 MiB above its used
#      memory: more than it has) and is never shrunk in 100 s (the
#      default shrink evidence is 60 s, the cooldown 30 s);
#   B. the shipped defaults (plan_interval 1 h: the view is made at the
#      first tick): augurd logs the view, exports augur_host_plan_growth_bytes,
#      its audit rows say "host plan: ...", and the guest is shrunk below
#      512 MiB (to its burst envelope, a new guest's 256 MiB + the
#      reserve above its used memory) within 240 s.
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

balloon_kib() { augur_it_virsh domstats --balloon -- "$1" | sed -n 's/^ *balloon\.current=//p'; }

augur_it_start_guest g1 --max-mib 512 --cur-mib 512 --vcpus-max 1 --vcpus 1
augur_it_wait_console g1 '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "g1 did not boot"
augur_it_wait_balloon g1 60 || augur_it_fail "g1: no balloon stats"

# The neighbour's history, ending at the newest 5-minute step.
total_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
seed() {   # DB
    python3 - "$total_kib" >"$AUGUR_IT_DIR/nb.csv" <<'EOF'
import sys, time
total = int(sys.argv[1])
end = int(time.time()) // 300 * 300
print("vm,ts,mem_used_kib,mem_prov_kib")
for k in range(3 * 288, -1, -1):
    ts = end - 300 * k
    high = (ts // 3600) % 2 == 0          # 1 h high, 1 h low
    used = 2 * total if high else 1024 * 1024
    print(f"nb,{ts},{used},{3 * total}")
EOF
    "$VIRT_AUGUR" --db "$1" import "$AUGUR_IT_DIR/nb.csv" --format augur >/dev/null 2>"$AUGUR_IT_DIR/import.log" ||
        augur_it_fail "import of the neighbour's history failed: $(tail -n 3 "$AUGUR_IT_DIR/import.log")"
}

# ---- A. control: no view ------------------------------------------------------
AUGUR_DB=$AUGUR_IT_DIR/control.db
seed "$AUGUR_DB"
printf '[host]\nplan_interval = 0\n' >"$AUGUR_IT_DIR/augur.conf"
augur_it_start_augurd --tick 1 --mode act
augur_it_wait_ticks 5 30 || augur_it_fail "control: no ticks"
sleep 100
augur_it_stop_augurd
shrinks=$(augur_it_sql "SELECT count(*) FROM actuations WHERE kind = 'balloon' AND to_value < from_value")
notes=$(augur_it_sql "SELECT count(*) FROM decisions WHERE note LIKE '%host plan%'")
b=$(balloon_kib g1)
augur_it_log "control (no view): $shrinks shrinks, $notes host-plan notes, balloon $((b / 1024)) MiB"
((shrinks == 0)) || augur_it_fail "control: the guest was shrunk without the view (the host had no room?)"
((notes == 0)) || augur_it_fail "control: a host-plan note without a view"

# ---- B. the shipped defaults: the view is made at the first tick ---------------
AUGUR_DB=$AUGUR_IT_DIR/defaults.db
seed "$AUGUR_DB"
: >"$AUGUR_IT_DIR/augur.conf"
augur_it_start_augurd --tick 1 --mode act
viewed() { grep -q 'host plan: .* guests need' "$AUGUR_IT_DIR/augurd.log"; }
augur_it__poll 60 viewed || augur_it_fail "augurd made no host view: $(grep -i 'host plan' "$AUGUR_IT_DIR/augurd.log" | tail -n 3)"
augur_it_log "$(grep -o 'host plan: .*' "$AUGUR_IT_DIR/augurd.log" | tail -n 1)"
grep -q 'not calibrated yet' "$AUGUR_IT_DIR/augurd.log" && augur_it_fail "the view did not calibrate on 3 days"
shrunk() { local v; v=$(balloon_kib g1); [[ -n $v ]] && ((v < 500 * 1024)); }
augur_it__poll 240 shrunk || augur_it_fail "with the view the guest was not shrunk: balloon $(($(balloon_kib g1) / 1024)) MiB; $(augur_it_sql "SELECT mem_reason, mem_veto, note FROM decisions ORDER BY id DESC LIMIT 1")"
note=$(augur_it_sql "SELECT note FROM decisions WHERE note LIKE '%host plan:%' ORDER BY id DESC LIMIT 1")
stale=$(augur_it_sql "SELECT count(*) FROM decisions WHERE mem_veto = 'stale-stats'")
augur_it_log "with the view: balloon $(($(balloon_kib g1) / 1024)) MiB, $stale stale-stats vetoes; audit: $note"
[[ -n $note ]] || augur_it_fail "no audit row says why the cushion tightened"
augur_it_stop_augurd
# Nothing starved: the guest's console shows no OOM kill.
if grep -q 'Out of memory: Killed process' "$(augur_it_console_log g1)"; then
    augur_it_fail "the guest ran out of memory"
fi
augur_it_log "PASS"
