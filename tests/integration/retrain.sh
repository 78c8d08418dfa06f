#!/bin/bash
# tests/integration/retrain.sh — augurd's periodic retraining, end to end,
# on the real daemon path: the augurd binary against libvirt's
# test:///default driver (no guests, no root), a store filled by
# `virt-augur import` of the in-repo Bitbrains trace (model/data/bitbrains),
# [retrain] interval 2s / time_budget 4s, a 0.5 s tick.
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
#   3. `virt-augur model status` (text and --json) shows the serving model
#      and the run;
#   4. phase 2, no model serving (--model pointing at a file that is not a
#      model): the candidate is judged against the baselines, and when
#      promoted the new version file and the augur-model.augur link exist
#      and augurd logs the swap.
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

# Run augurd on db $1 with model $2 until one run is recorded (timeout $3 s).
run_daemon () {
        local db=$1 model=$2 timeout=$3 i
        cat > "$T/augur.conf" <<EOF
[retrain]
interval = 2s
min_history = 1d
time_budget = 4s
EOF
        "$AUGURD" --connect test:///default --db "$db" --tick $TICK --socket "$T/sock" \
                --config "$T/augur.conf" --model "$model" --foreground > "$T/augurd.log" 2>&1 &
        PID=$!
        for ((i = 0; i < timeout * 2; i++)); do
                sleep 0.5
                kill -0 "$PID" 2>/dev/null || { cat "$T/augurd.log"; fail "augurd exited"; }
                [ "$(q "$db" "SELECT count(*) FROM retrain_runs" 2>/dev/null)" = 1 ] && break
        done
        kill "$PID"; wait "$PID" 2>/dev/null; PID=
        [ "$(q "$db" "SELECT count(*) FROM retrain_runs")" = 1 ] || { cat "$T/augurd.log"; fail "no retraining run recorded within $timeout s"; }
        grep -q "connected to test:///default" "$T/augurd.log" || { echo "SKIP: libvirt's test:///default driver not available"; exit 77; }
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
        [ "$(q "$db" "SELECT count(*) FROM retrain_vm")" = 6 ] || fail "expected 6 per-VM rows"
}

# ---- phase 1: the packaged default model serves --------------------------
DB=$T/p1/augur.db
mkdir -p "$T/p1"
"$VA" --db "$DB" import "$SRC/model/data/bitbrains" --format bitbrains > "$T/import.log" 2>&1 ||
        { cat "$T/import.log"; fail "import"; }
run_daemon "$DB" "$SRC/model/default.augur" 50
check_ticks "$DB"
check_decision "$DB"
[ "$(q "$DB" "SELECT serving_version FROM retrain_runs")" = 0 ] || fail "serving version should be 0 (the model augurd started with)"
"$VA" --db "$DB" model status > "$T/status.txt" || fail "model status"
cat "$T/status.txt"
grep -q "^Serving: .*version" "$T/status.txt" || fail "model status shows no serving model"
grep -q "^Last retrain: " "$T/status.txt" || fail "model status shows no run"
"$VA" --db "$DB" --json model status | grep -q '"outcome"' || fail "model status --json"

# ---- phase 2: no model serves: judged against the baselines --------------
DB=$T/p2/augur.db
mkdir -p "$T/p2"
cp "$T/p1/augur.db" "$DB"
sqlite3 "$DB" "DELETE FROM retrain_vm; DELETE FROM retrain_runs;"
echo "not a model" > "$T/none.augur"
run_daemon "$DB" "$T/none.augur" 50
check_ticks "$DB"
check_decision "$DB"
[ -z "$(q "$DB" "SELECT serving_version FROM retrain_runs")" ] || fail "serving version should be NULL (baselines)"
if [ "$(q "$DB" "SELECT outcome FROM retrain_runs")" = promoted ]; then
        [ -L "$T/p2/augur-model.augur" ] && [ -f "$T/p2/augur-model-1.augur" ] || fail "promoted but no model file / link"
        grep -q "model version 1 promoted and serving" "$T/augurd.log" || fail "no swap logged"
        log "phase 2: promoted and swapped"
else
        [ ! -e "$T/p2/augur-model.augur" ] || fail "rejected, yet a link was written"
        log "phase 2: rejected against the baselines (decision checked above)"
fi
log "ok"
exit 0
