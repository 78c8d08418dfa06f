#!/bin/bash
# second-controller.sh: on a real guest, augurd notices that something
# else moves a balloon and yields it (plugin/resize-controller.c SECOND
# CONTROLLER).
#
# One TCG guest with the shipped defaults (empty augur.conf), augurd
# --tick 1 --mode act.  Once augur has resized it (its memory guard grows a
# new guest to its cushion; waited for up to 60 s) and the balloon landed,
# an admin's `virsh setmem` from outside moves it elsewhere.  Asserted:
#   - within ~10 s augurd logs the yield, once;
#   - the decision rows carry the veto other-controller, and `virt-augur
#     explain` says augur yields;
#   - the balloon stays where the admin put it for 30 s (virsh, every
#     second), with no actuation meanwhile, and the yield is still logged
#     once;
#   - `virt-augur policy G --set mode=act` takes it back: augurd logs the
#     take-back and resizes the guest again within 30 s.
# Wall time ~2-3 min.  Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

G=sc
ADMIN_MIB=300
balloon_kib() { augur_it_virsh domstats --balloon -- "$G" | sed -n 's/^ *balloon\.current=//p'; }
n_balloon_acts() { augur_it_sql "SELECT count(*) FROM actuations WHERE kind = 'balloon'"; }
n_yield_logs() { grep -c -- 'augur yields' "$AUGUR_IT_DIR/augurd.log" || :; }

augur_it_start_guest "$G"
augur_it_wait_console "$G" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "$G did not boot"
augur_it_wait_balloon "$G" 60 || augur_it_fail "$G: no balloon stats"
# The guest boots with all of <memory> and inflates to currentMemory.
settled() { local b; b=$(balloon_kib); [[ -n $b ]] && ((b <= 385 * 1024)); }
augur_it__poll 60 settled || augur_it_fail "$G's balloon never settled at 384 MiB"

: >"$AUGUR_IT_DIR/augur.conf"
augur_it_start_augurd --tick 1 --mode act
acted() { (($(n_balloon_acts 2>/dev/null || echo 0) >= 1)); }
augur_it__poll 60 acted || augur_it_fail "augur did not resize $G within 60 s (nothing to yield from)"
target=$(augur_it_sql "SELECT CAST(to_value AS INTEGER) FROM actuations WHERE kind = 'balloon' ORDER BY ts_ms DESC LIMIT 1")
landed() { local b t; b=$(balloon_kib); t=$(augur_it_sql "SELECT CAST(to_value AS INTEGER) FROM actuations WHERE kind = 'balloon' ORDER BY ts_ms DESC LIMIT 1"); [[ -n $b ]] && ((b - t < 2048 && t - b < 2048)); }
augur_it__poll 20 landed || augur_it_log "note: augur's balloon had not landed within 20 s"
sleep 3         # a few ticks on the landed balloon
target=$(augur_it_sql "SELECT CAST(to_value AS INTEGER) FROM actuations WHERE kind = 'balloon' ORDER BY ts_ms DESC LIMIT 1")
acts0=$(n_balloon_acts)
augur_it_log "augur acted: $acts0 balloon actuation(s), last target $((target / 1024)) MiB, balloon $(( $(balloon_kib) / 1024 )) MiB"
((target / 1024 - ADMIN_MIB > 32 || ADMIN_MIB - target / 1024 > 32)) || ADMIN_MIB=$((target / 1024 - 80))

# ---- the admin's setmem -------------------------------------------------------
t_set=$(date +%s%3N)
augur_it_virsh setmem "$G" "${ADMIN_MIB}M" --live || augur_it_fail "virsh setmem failed"
augur_it_log "virsh setmem $G ${ADMIN_MIB} MiB"
augur_it_wait_log 'augur yields' 1 12 || augur_it_fail "augurd did not log the yield within 12 s: $(tail -n 5 "$AUGUR_IT_DIR/augurd.log")"
yield_s=$(( ($(date +%s%3N) - t_set) ))
augur_it_log "yield logged after ${yield_s} ms: $(grep -m1 -- 'augur yields' "$AUGUR_IT_DIR/augurd.log" | cut -c1-200)"
vetoed=$(augur_it_sql "SELECT count(*) FROM decisions WHERE mem_veto = 'other-controller' AND cpu_veto = 'other-controller'")
((vetoed >= 1)) || augur_it_fail "no decision row carries the veto other-controller"
explain=$("$VIRT_AUGUR" --db "$AUGUR_DB" explain "$G") || augur_it_fail "virt-augur explain failed"
grep -q 'augur yields' <<<"$explain" || augur_it_fail "explain does not say augur yields: $explain"
augur_it_log "explain: $(grep -m1 'kept it' <<<"$explain" | cut -c1-200)"

# ---- the balloon stays where the admin put it -----------------------------------
at_admin() { local b; b=$(balloon_kib); [[ -n $b ]] && ((b - ADMIN_MIB * 1024 < 4096 && ADMIN_MIB * 1024 - b < 4096)); }
augur_it__poll 15 at_admin || augur_it_fail "the balloon never reached the admin's ${ADMIN_MIB} MiB ($(balloon_kib) KiB)"
lo=999999999 hi=0
for _ in $(seq 30); do
    b=$(balloon_kib)
    ((b < lo)) && lo=$b
    ((b > hi)) && hi=$b
    sleep 1
done
acts1=$(n_balloon_acts)
vcpu_acts=$(augur_it_sql "SELECT count(*) FROM actuations WHERE kind = 'vcpus' AND ts_ms > $t_set")
augur_it_log "30 s after the yield: balloon $((lo / 1024))..$((hi / 1024)) MiB (admin ${ADMIN_MIB}), balloon actuations $acts0 -> $acts1, vCPU actuations since $vcpu_acts, yield logged $(n_yield_logs)x"
((hi - ADMIN_MIB * 1024 < 4096 && ADMIN_MIB * 1024 - lo < 4096)) ||
    augur_it_fail "the balloon left the admin's ${ADMIN_MIB} MiB ($((lo / 1024))..$((hi / 1024)) MiB)"
((acts1 == acts0)) || augur_it_fail "augur actuated the balloon $((acts1 - acts0)) times after the setmem"
((vcpu_acts == 0)) || augur_it_fail "augur changed vCPUs $vcpu_acts times while yielded"
(($(n_yield_logs) == 1)) || augur_it_fail "the yield was logged $(n_yield_logs) times (want once)"

# ---- the take-back -----------------------------------------------------------------
"$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy "$G" --set mode=act >/dev/null || augur_it_fail "policy --set mode=act failed"
t_back=$(date +%s%3N)
augur_it_wait_log 'augur takes it back' 1 10 || augur_it_fail "augurd did not log the take-back"
again() { (($(n_balloon_acts) > acts1)); }
augur_it__poll 30 again || augur_it_fail "augur did not resize $G again within 30 s of mode=act"
last=$(augur_it_sql "SELECT CAST(from_value AS INTEGER) || ' -> ' || CAST(to_value AS INTEGER) FROM actuations WHERE kind = 'balloon' ORDER BY ts_ms DESC LIMIT 1")
augur_it_log "taken back: augur resized again after $(( $(date +%s%3N) - t_back )) ms ($last KiB), yield logged $(n_yield_logs)x"
(($(n_yield_logs) == 1)) || augur_it_fail "the yield was logged again after the take-back"
augur_it_log "RESULT yield_ms=$yield_s vetoed_rows=$vetoed hold=$((lo / 1024))..$((hi / 1024))MiB admin=${ADMIN_MIB}MiB acts_while_yielded=$((acts1 - acts0)) vcpu_acts=$vcpu_acts take_back=ok"
augur_it_log "PASS"
