#!/bin/bash
# guests.sh: [guests] include / exclude on a real guest: an excluded guest
# is not even collected.
#
# Against a private libvirtd and one real QEMU guest (TCG), with the real
# augurd (1 s tick) and the real virt-augur; one boot for every step:
#   1. exclude = a name glob matching the guest: ticks are stored, with no
#      sample of the guest, no stats period set on it, no activity
#      channel opened; the log says once that it is excluded and by which
#      rule; `explain`, `list` and `status` say so;
#   2. SIGHUP with exclude = tag:skip (the guest has no tags): it is
#      collected from the next ticks, and the log says it is watched again;
#   3. `virt-augur policy GUEST --set tags=skip` (libvirt's METADATA_CHANGE
#      event): excluded again at once, its sample count stops growing.
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

G=filtered
augur_it_require_root_tools
augur_it_require_augur
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

samples_of_guest() {
    augur_it_sql "SELECT count(*) FROM samples s JOIN domains d ON d.id = s.domain_id WHERE d.name = '$G'"
}
ticks() { augur_it_sql "SELECT count(*) FROM ticks"; }
va() { "$VIRT_AUGUR" --db "$AUGUR_DB" "$@"; }

augur_it_start_guest "$G" --max-mib 512 --cur-mib 384 --vcpus-max 2 --vcpus 1
augur_it_wait_console "$G" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "guest did not boot"
augur_it_wait_balloon "$G" 60 || augur_it_fail "no balloon stats"
augur_it_log "guest $G up"

# ---- 1. excluded by a name glob ---------------------------------------------
printf '[guests]\nexclude = other-vm, filt*\n' >"$AUGUR_IT_DIR/augur.conf"
augur_it_start_augurd --tick 1 --mode act
augur_it_wait_ticks 6 30 || augur_it_fail "augurd stored no ticks"
n=$(samples_of_guest)
((n == 0)) || augur_it_fail "$n samples of the excluded guest $G in the store"
last_n=$(augur_it_sql "SELECT n_domains FROM ticks ORDER BY id DESC LIMIT 1")
((last_n == 0)) || augur_it_fail "ticks carry $last_n domains with $G excluded"
grep -q "guests watched: include = all, exclude = other-vm filt\*" "$AUGUR_IT_DIR/augurd.log" ||
    augur_it_fail "the filter in effect is not logged at start"
c=$(grep -c "guest $G (.*) is excluded by \[guests\] exclude = filt\*" "$AUGUR_IT_DIR/augurd.log" || true)
((c == 1)) || augur_it_fail "the exclusion is logged $c times, want once"
! grep -q "stats period on $G\|activity channel of $G connected\|domain $G has no" "$AUGUR_IT_DIR/augurd.log" ||
    augur_it_fail "augurd touched the excluded guest: $(grep "$G" "$AUGUR_IT_DIR/augurd.log" | head -3)"
out=$(va explain "$G") || augur_it_fail "explain $G failed: $out"
[[ $out == *"$G is excluded by augur.conf's [guests] exclude = filt*"* ]] || augur_it_fail "explain says: $out"
out=$(va list)
[[ $out == *"$G"*"excluded ([guests] exclude = filt*)"* ]] || augur_it_fail "list says: $out"
out=$(va status --json)
[[ $out == *'"domains_excluded"'*1* ]] || augur_it_fail "status says: $out"
augur_it_log "1. excluded by name: $(ticks) ticks, 0 samples of $G; explain: $(va explain "$G" | cut -c1-70)..."

# ---- 2. reload: exclude by a tag it does not have --------------------------
printf '[guests]\nexclude = tag:skip\n' >"$AUGUR_IT_DIR/augur.conf"
kill -HUP "$AUGURD_PID"
collected() { (($(samples_of_guest) >= 3)); }
augur_it__poll 30 collected || augur_it_fail "$G not collected after the reload (log: $(tail -n 3 "$AUGUR_IT_DIR/augurd.log"))"
grep -q "guest $G (.*) is watched again" "$AUGUR_IT_DIR/augurd.log" || augur_it_fail "no 'watched again' line"
augur_it_log "2. after SIGHUP with exclude = tag:skip: $(samples_of_guest) samples of $G"

# ---- 3. tag it: METADATA_CHANGE takes it out at once ------------------------
va -c "$AUGUR_IT_URI" policy "$G" --set tags=skip >/dev/null || augur_it_fail "policy --set tags=skip failed"
excluded_again() { grep -q "guest $G (.*) is excluded by \[guests\] exclude = tag:skip" "$AUGUR_IT_DIR/augurd.log"; }
augur_it__poll 15 excluded_again || augur_it_fail "tagging $G did not exclude it"
before=$(samples_of_guest)
t=$(ticks)
augur_it_wait_ticks $((t + 4)) 20 || augur_it_fail "ticks stopped"
after=$(samples_of_guest)
# At most the tick in flight when the event arrived.
((after <= before + 1)) || augur_it_fail "$G still collected after tagging: $before -> $after samples"
out=$(va explain "$G")
[[ $out == *"exclude = tag:skip"* ]] || augur_it_fail "explain says: $out"
kill -0 "$AUGURD_PID" || augur_it_fail "augurd died"
augur_it_log "3. tagged skip: samples $before -> $after over 4 ticks"
augur_it_log "PASS"
