#!/bin/bash
# tests/integration/retrain.sh — augurd's periodic retraining, end to end,
# on the real daemon path: the augurd binary against libvirt's
# test:///default driver (no guests, no root), a store filled by
# `virt-augur import` of two VMs of the in-repo Bitbrains trace
# (model/data/bitbrains), [retrain] interval 2s / time_budget 4s, a 0.5 s
# tick.
#
# It proves:
#   1. a run starts on schedule and is recorded (retrain_runs, retrain_vm)
#      with an outcome whose reason matches the recorded scores
#      (promoted iff candidate < serving * 0.99 when a model serves;
#      against the best baseline when none does);
#   2. the main loop keeps ticking while the worker trains: the stored
#      ticks inside [started, finished] of the run are never more than
#      3 ticks apart and there are at least half as many as the period
#      allows (the run itself lasts several seconds);
#      the worker thread (augur-retrain) runs at nice 10;
#   3. `virt-augur model status` (text and --json) shows the serving model
#      and the run;
#   4. phase 2, a known-bad model serving (trained with `virt-augur train`
#      on a synthetic trace that flips between 5 % and 95 % every step, so
#      it forecasts huge jumps on smooth Bitbrains data; checked: its
#      held-out error is > 3x the best baseline's): the candidate is
#      promoted, written as augur-model-1.augur with the augur-model.augur
#      link, hot-swapped (logged, and `model status` shows version 1);
#   5. phase 3, restarts: augurd loads the promoted version at start; with
#      that file damaged it rolls back to the model it was configured
#      with (no other version exists), with a warning;
#   6. phase 4, no model serving (--model names a file that is not a
#      model): the candidate is judged against the best baseline.
# Exit: 0 pass, 1 fail, 77 skip (sqlite3 CLI or libvirt's test driver missing).
set -u

SRC=${AUGUR_TOP_SRCDIR:-$(cd -- "$(dirname -- "$0")/../.." && pwd)}
BLD=${AUGUR_TOP_BUILDDIR:-$SRC}
AUGURD=$BLD/plugin/augurd
VA=$BLD/virsh-ext/virt-augur
TICK=0.5

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI not installed"; exit 77; }
[ -x "$AUGURD" ] && [ -x "$VA" ] || { echo "FAIL: build augurd and virt-augur first"; exit 1; }

T=$(mktemp -d /tmp/augur-retrain-it-XXXXXX)
PID=
cleanup () {
        [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
        if [ "${FAILED:-0}" = 0 ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail () { echo "FAIL: $*"; FAILED=1; exit 1; }
log () { echo "retrain.sh: $*"; }

q () { sqlite3 -batch -noheader "$1" "$2"; }

write_conf () {
        cat > "$T/augur.conf" <<EOF
[retrain]
interval = $1
min_history = 1d
time_budget = 4s
EOF
}

# Start augurd on db $1 with model $2 (retraining on, not due), wait for
# its first tick, stop it; the log is in $T/augurd.log.
start_stop () {
        local i
        write_conf 1d
        "$AUGURD" --connect test:///default --db "$1" --tick $TICK --socket "$T/sock" \
                --config "$T/augur.conf" --model "$2" --foreground > "$T/augurd.log" 2>&1 &
        PID=$!
        for ((i = 0; i < 40; i++)); do
                sleep 0.25
                grep -q "watching test:///default" "$T/augurd.log" && break
        done
        kill "$PID"; wait "$PID" 2>/dev/null; PID=
        grep -q "watching test:///default" "$T/augurd.log" || { cat "$T/augurd.log"; fail "augurd did not start"; }
}

# Run augurd on db $1 with model $2 until one run is recorded (timeout $3 s).
run_daemon () {
        local db=$1 model=$2 timeout=$3 i
        write_conf 2s
        "$AUGURD" --connect test:///default --db "$db" --tick $TICK --socket "$T/sock" \
                --config "$T/augur.conf" --model "$model" --foreground > "$T/augurd.log" 2>&1 &
        PID=$!
        # A sampler of its own, every 0.05 s, records the nice value (stat
        # field 19) of each augur-retrain thread it sees: the loop below
        # also waits on sqlite3, and a loaded machine once let a whole
        # run pass between two of its looks.
        rm -f "$T/nice.seen"
        ( while kill -0 "$PID" 2>/dev/null; do
                for task in /proc/$PID/task/*; do
                        [ "$(cat "$task/comm" 2>/dev/null)" = augur-retrain ] &&
                                sed 's/^.*) //' "$task/stat" 2>/dev/null | awk '{ print $17 }' >> "$T/nice.seen"
                done
                sleep 0.05
          done ) &
        SAMPLER=$!
        for ((i = 0; i < timeout * 4; i++)); do
                sleep 0.25
                kill -0 "$PID" 2>/dev/null || { cat "$T/augurd.log"; fail "augurd exited"; }
                [ "$(q "$db" "SELECT count(*) FROM retrain_runs" 2>/dev/null)" = 1 ] && break
        done
        kill "$PID"; wait "$PID" 2>/dev/null; PID=
        wait "$SAMPLER" 2>/dev/null
        # the last value seen: a first look may fall before the thread's setpriority()
        NICE_SEEN=$(tail -n 1 "$T/nice.seen" 2>/dev/null)
        [ "$(q "$db" "SELECT count(*) FROM retrain_runs")" = 1 ] || { cat "$T/augurd.log"; fail "no retraining run recorded within $timeout s"; }
        grep -q "connected to test:///default" "$T/augurd.log" || { echo "SKIP: libvirt's test:///default driver not available"; exit 77; }
        log "worker thread seen at nice ${NICE_SEEN:-?}"
        [ "$NICE_SEEN" = 10 ] || fail "the augur-retrain thread was not seen running at nice 10"
}

# The tick kept its period during the run recorded in $1.
check_ticks () {
        local db=$1 started finished gaps
        started=$(q "$db" "SELECT started_ms FROM retrain_runs")
        finished=$(q "$db" "SELECT finished_ms FROM retrain_runs")
        [ $((finished - started)) -ge 2000 ] || fail "the run lasted only $((finished - started)) ms: too short to say anything about the tick"
        gaps=$(q "$db" "SELECT ts_ms FROM ticks WHERE ts_ms BETWEEN $started AND $finished ORDER BY ts_ms" |
               awk -v s="$started" -v f="$finished" '
                   { if (NR == 1) d = $1 - s; else d = $1 - p; if (d > m) m = d; p = $1; n++ }
                   END { if (f - p > m) m = f - p; printf "%d %d\n", n, m }')
        set -- $gaps
        log "run of $((finished - started)) ms: $1 ticks stored during it, largest gap $2 ms (tick ${TICK}s)"
        [ "$2" -le 1500 ] || fail "the tick stalled for $2 ms while the worker trained"
        [ "$1" -ge $(( (finished - started) / 1000 )) ] || fail "only $1 ticks in $((finished - started)) ms"
}

# The recorded outcome follows from the recorded scores.
check_decision () {
        local db=$1 row
        row=$(q "$db" "SELECT outcome, reason, ifnull(candidate_mae,'nan'), ifnull(serving_mae,'nan'), ifnull(baseline_mae,'nan') FROM retrain_runs")
        log "run: $row"
        echo "$row" | awk -F'|' '{
                c = $3 + 0; s = $4; b = $5; g = 0.01
                if (s != "nan") want = (c < s * (1 - g)) ? "promoted|beats_serving" : "rejected|not_better"
                else if (b != "nan") want = (c < b * (1 - g)) ? "promoted|beats_baselines" : "rejected|baselines_better"
                else want = "rejected|no_score"
                if ($1 "|" $2 != want) { print "want " want; exit 1 }
        }' || fail "the recorded outcome does not follow from the recorded scores"
        [ "$(q "$db" "SELECT count(*) FROM retrain_vm")" = 2 ] || fail "expected 2 per-VM rows"
}


# ---- phase 1: the packaged default model serves --------------------------
DB=$T/p1/augur.db
mkdir -p "$T/p1"
for vm in 9 428; do
        "$VA" --db "$DB" import "$SRC/model/data/bitbrains/$vm.csv.gz" --format bitbrains > "$T/import.log" 2>&1 ||
                { cat "$T/import.log"; fail "import $vm"; }
done
run_daemon "$DB" "$SRC/model/default.augur" 50
check_ticks "$DB"
check_decision "$DB"
[ "$(q "$DB" "SELECT serving_version FROM retrain_runs")" = 0 ] || fail "serving version should be 0 (the model augurd started with)"
"$VA" --db "$DB" model status > "$T/status.txt" || fail "model status"
cat "$T/status.txt"
grep -q "^Serving: .*version 0" "$T/status.txt" || fail "model status shows no serving model"
grep -q "^Last retrain: " "$T/status.txt" || fail "model status shows no run"
"$VA" --db "$DB" --json model status | grep '"outcome"' >/dev/null || fail "model status --json"

# ---- phase 2: a known-bad model serves: the candidate replaces it --------
DB=$T/p2/augur.db
mkdir -p "$T/p2"
cp "$T/p1/augur.db" "$DB"
sqlite3 "$DB" "DELETE FROM retrain_vm; DELETE FROM retrain_runs;"
awk 'BEGIN { print "vm,ts,cpu_cores,cpu_pct,mem_prov_kib,mem_used_kib";
             for (i = 0; i < 1200; i++) { o = i % 2;
                 printf "flip,%d,2,%d,1048576,%d\n", 1370000000 + i * 300, o ? 95 : 5, o ? 943718 : 104857 } }' > "$T/flip.csv"
"$VA" train --traces "$T/flip.csv" --format augur --out "$T/flip.augur" --hidden 8 --epochs 2 \
        --windows-per-epoch 1024 > "$T/train.log" 2>&1 || { cat "$T/train.log"; fail "training the known-bad model"; }
run_daemon "$DB" "$T/flip.augur" 50
check_ticks "$DB"
check_decision "$DB"
awk -v s="$(q "$DB" "SELECT serving_mae FROM retrain_runs")" -v b="$(q "$DB" "SELECT baseline_mae FROM retrain_runs")" \
        'BEGIN { exit !(s > 3 * b) }' || fail "precondition: the known-bad model is not bad enough on the held-out slice"
[ "$(q "$DB" "SELECT outcome || ' ' || candidate_version FROM retrain_runs")" = "promoted 1" ] ||
        fail "the candidate did not replace a known-bad model"
[ -L "$T/p2/augur-model.augur" ] && [ "$(readlink "$T/p2/augur-model.augur")" = augur-model-1.augur ] &&
        [ -f "$T/p2/augur-model-1.augur" ] || fail "promoted, but no model file / link"
grep -q "model version 1 promoted and serving" "$T/augurd.log" || fail "no hot swap logged"
[ "$(q "$DB" "SELECT value FROM meta WHERE key = 'model.serving_version'")" = 1 ] || fail "serving version not recorded"
"$VA" --db "$DB" model status | grep "^Serving: .*version 1 " >/dev/null || fail "model status does not show version 1"
log "phase 2: promoted and hot-swapped"

# ---- phase 3: restarts --------------------------------------------------
start_stop "$DB" "$T/flip.augur"
grep -q "model $T/p2/augur-model-1.augur loaded" "$T/augurd.log" || { cat "$T/augurd.log"; fail "the promoted model is not loaded at start"; }
[ "$(q "$DB" "SELECT value FROM meta WHERE key = 'model.serving_version'")" = 1 ] || fail "serving version after restart"
printf 'XXXX' | dd of="$T/p2/augur-model-1.augur" bs=1 seek=200 conv=notrunc status=none
start_stop "$DB" "$T/flip.augur"
grep -q "cannot be used.*rolling back" "$T/augurd.log" || { cat "$T/augurd.log"; fail "no rollback warning for a damaged promoted model"; }
grep -q "model $T/flip.augur loaded" "$T/augurd.log" || fail "did not fall back to the configured model"
[ "$(q "$DB" "SELECT value FROM meta WHERE key = 'model.serving_version'")" = 0 ] || fail "serving version after rollback"
log "phase 3: restart loads the promoted model; a damaged one rolls back"

# ---- phase 4: no model serves: the candidate is judged against the baselines
DB=$T/p4/augur.db
mkdir -p "$T/p4"
cp "$T/p1/augur.db" "$DB"
sqlite3 "$DB" "DELETE FROM retrain_vm; DELETE FROM retrain_runs;"
echo "not a model" > "$T/none.augur"
run_daemon "$DB" "$T/none.augur" 50
check_ticks "$DB"
check_decision "$DB"
[ -z "$(q "$DB" "SELECT serving_version FROM retrain_runs")" ] || fail "serving version should be NULL (baselines)"
case $(q "$DB" "SELECT reason FROM retrain_runs") in
beats_baselines) [ -f "$T/p4/augur-model-1.augur" ] || fail "promoted over the baselines, but no file" ;;
baselines_better) [ ! -e "$T/p4/augur-model.augur" ] || fail "rejected, yet a link was written" ;;
*) fail "with no model serving the candidate must be judged against the baselines" ;;
esac
log "phase 4: judged against the baselines: $(q "$DB" "SELECT reason FROM retrain_runs")"
log "ok"
exit 0
