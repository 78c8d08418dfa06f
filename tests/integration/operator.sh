#!/bin/bash
# operator.sh: the operator surfaces on a real guest — `virt-augur policy`,
# the Prometheus endpoint, `virt-augur plot` and `virt-augur top`.
#
# Against a private libvirtd and one real QEMU guest (TCG), defined
# persistent so that policy writes go to the live and the persistent
# definition, with the real augurd (1 s tick, recommend mode, metrics on a
# loopback port):
#   1. policy --set writes <augur:policy> into the live and the inactive
#      XML (virsh metadata), is read back by name, UUID and id, and augurd
#      picks it up on METADATA_CHANGE: mode=observe stops its decision rows;
#      a bad value is refused (exit 1, stderr) and nothing is written;
#      mode=act then makes augurd shrink the idle guest's balloon;
#   2. curl of /metrics shows the guest's series with the 0.0.4 content
#      type, the shrink in augur_actions_total; prometheus_client's parser
#      and promtool (each when installed, at least one) accept it;
#   3. plot writes an SVG that parses as XML and holds the history layers,
#      the shrink markers (and the forecast band when a decision had one),
#      and a PNG of the asked size;
#   4. top --once lists the guest with its last action, through augurd's
#      socket and from the database alone; on a terminal q alone ends it.
# Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

G=opsvm
NS=urn:augur:policy:1
augur_it_require_root_tools
augur_it_require_augur
command -v curl >/dev/null 2>&1 || augur_it_skip "no curl (apt-get install curl)"
command -v python3 >/dev/null 2>&1 || augur_it_skip "no python3 to parse the SVG"
# Debian's python3 holds python3-prometheus-client; a python3 earlier on PATH
# (pyenv, a venv) may not.
PROM_PY=/usr/bin/python3
[[ -x $PROM_PY ]] || PROM_PY=python3
command -v promtool >/dev/null 2>&1 || "$PROM_PY" -c 'import prometheus_client.parser' 2>/dev/null ||
    augur_it_skip "no Prometheus text-format parser (apt-get install python3-prometheus-client)"
augur_it_setup
trap 'rc=$?; set +e; augur_it_stop_augurd; (exit $rc); augur_it__cleanup' EXIT

# A persistent domain (define + start), unlike augur_it_start_guest's
# transient one: policy must write LIVE and CONFIG.
"$AUGUR_IT_SRCDIR/scripts/augur-guest-xml" --name "$G" --kernel "$AUGUR_IT_KERNEL" \
    --initrd "$AUGUR_IT_INITRD" --channel-dir "$AUGUR_IT_CHANDIR" \
    --max-mib 512 --cur-mib 384 --vcpus-max 2 --vcpus 1 >"$AUGUR_IT_DIR/$G.xml"
AUGUR_IT_GUESTS+=("$G")
augur_it_virsh define "$AUGUR_IT_DIR/$G.xml" >/dev/null || augur_it_fail "virsh define failed"
augur_it_virsh start "$G" >/dev/null || augur_it_fail "virsh start failed"
augur_it_wait_console "$G" '^AUGUR-GUEST-READY' 120 >/dev/null || augur_it_fail "guest did not boot"

# A loopback port nobody uses: augurd's own bind is the arbiter, so try a
# few and keep the first augurd that says it serves.
PORT=
for try in 1 2 3; do
    p=$((20000 + (RANDOM % 20000)))
    # Short shrink evidence and cooldown, so that mode=act (set through
    # policy below) shrinks the idle guest within seconds.
    # names=true: the checks below look the guest up by name (the default
    # exports UUIDs only; test-metrics covers that).  A 300 MiB host budget:
    # with memory to spare the memory guard keeps a generous cushion and
    # would not shrink this guest at all; under the budget it must.
    printf '[metrics]\nport=%d\nnames=true\n[policy]\nshrink_sustain=3s\nshrink_cooldown=3s\n[host]\nmem_budget_mib=300\n' "$p" \
        >"$AUGUR_IT_DIR/augur.conf"
    augur_it_start_augurd --tick 1 --mode recommend
    if augur_it_wait_log "metrics on http://127.0.0.1:$p/metrics" 1 10; then
        PORT=$p
        break
    fi
    augur_it_stop_augurd
done
[[ -n $PORT ]] || augur_it_fail "augurd never served metrics: $(grep -i metrics "$AUGUR_IT_DIR/augurd.log" | tail -n 3)"
augur_it_wait_balloon "$G" 60 || augur_it_fail "no balloon stats"
augur_it_wait_ticks 5 30 || augur_it_fail "augurd stored no ticks"

decisions() { augur_it_sql "SELECT count(*) FROM decisions d JOIN domains m ON m.id = d.domain_id WHERE m.name = '$G'"; }
has_decisions() { (($(decisions) >= 3)); }
augur_it__poll 60 has_decisions || augur_it_fail "no decisions in recommend mode"

# ---- 1. policy --------------------------------------------------------------
uuid=$(augur_it_virsh domuuid "$G")
id=$(augur_it_virsh domid "$G")
out=$("$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy "$G") || augur_it_fail "policy (read) failed"
# Nothing from the metadata yet: every key shows what augurd uses instead.
grep -q '^ mode  *[a-z]*  *augur' <<<"$out" && ! grep -q 'metadata' <<<"$out" ||
    augur_it_fail "fresh policy not all defaults: $out"

"$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy "$uuid" --set mode=observe --set mem_max_mib=500 \
    --set priority=2000 >/dev/null || augur_it_fail "policy --set by UUID failed"
live=$(augur_it_virsh metadata "$G" "$NS" --live)
config=$(augur_it_virsh metadata "$G" "$NS" --config)
augur_it_log "live metadata: $live"
for x in "$live" "$config"; do
    grep -q '<mode>observe</mode>' <<<"$x" || augur_it_fail "mode not in metadata: $x"
    grep -q '<mem_max_mib>500</mem_max_mib>' <<<"$x" || augur_it_fail "mem_max_mib not in metadata: $x"
    grep -q '<priority>2000</priority>' <<<"$x" || augur_it_fail "priority not in metadata: $x"
done
json=$("$VIRT_AUGUR" -c "$AUGUR_IT_URI" --json policy "$id") || augur_it_fail "policy by id failed"
grep -q '"mode" : "observe"' <<<"$json" || augur_it_fail "policy --json by id: $json"
grep -q '"mem_max_mib" : 500' <<<"$json" || augur_it_fail "policy --json by id: $json"

# augurd picks it up: the METADATA_CHANGE event is recorded and, in
# observe mode, the guest gets no more decision rows.
meta_event() { (($(augur_it_sql "SELECT count(*) FROM events WHERE kind = 'metadata-change'") >= 1)); }
augur_it__poll 15 meta_event || augur_it_fail "augurd recorded no metadata-change event"
augur_it_wait_ticks $(($(augur_it_sql "SELECT count(*) FROM ticks") + 2)) 20 || augur_it_fail "ticks stopped"
n1=$(decisions)
augur_it_wait_ticks $(($(augur_it_sql "SELECT count(*) FROM ticks") + 4)) 20 || augur_it_fail "ticks stopped"
n2=$(decisions)
augur_it_log "decisions after observe: $n1 -> $n2 over 4 ticks"
((n2 == n1)) || augur_it_fail "augurd still decides for $G after mode=observe ($n1 -> $n2)"

# A refused value: exit 1, a message on stderr naming the range, nothing written.
rc=0
err=$("$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy "$G" --set mode=act --set quantile=2 2>&1 >/dev/null) || rc=$?
((rc == 1)) || augur_it_fail "bad quantile: exit $rc, want 1"
grep -q 'error: .*quantile.*0.5 to 0.999' <<<"$err" || augur_it_fail "bad quantile message: $err"
grep -q '<mode>observe</mode>' <<<"$(augur_it_virsh metadata "$G" "$NS" --live)" ||
    augur_it_fail "a refused --set changed the metadata"
rc=0
"$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy no-such-guest 2>/dev/null || rc=$?
((rc == 1)) || augur_it_fail "unknown domain: exit $rc, want 1"

# Now act: the idle guest (384 MiB, ~100 MiB used) is shrunk in steps, so
# the store gets actuations for plot's markers and top's last action.
"$VIRT_AUGUR" -c "$AUGUR_IT_URI" policy "$G" --set mode=act --set mem_max_mib= >/dev/null ||
    augur_it_fail "policy --set mode=act failed"
grep -q 'mem_max_mib' <<<"$(augur_it_virsh metadata "$G" "$NS" --live)" &&
    augur_it_fail "mem_max_mib= did not remove the key"
shrunk() { (($(augur_it_sql "SELECT count(*) FROM actuations WHERE kind = 'balloon' AND to_value < from_value") >= 1)); }
augur_it__poll 60 shrunk || augur_it_fail "no balloon shrink after mode=act: $(augur_it_sql "SELECT mem_action, mem_veto, mem_target_kib FROM decisions ORDER BY id DESC LIMIT 3")"
augur_it_log "after mode=act: $(augur_it_sql "SELECT count(*) FROM actuations") actuations, balloon now $(augur_it_virsh dommemstat "$G" | awk '/^actual/ { print $2 / 1024 }') MiB"

# ---- 2. metrics -------------------------------------------------------------
scrape=$AUGUR_IT_DIR/metrics.txt
ctype=$(curl -sS --max-time 5 -o "$scrape" -w '%{content_type}' "http://127.0.0.1:$PORT/metrics") ||
    augur_it_fail "curl of /metrics failed"
augur_it_log "metrics: $(wc -l <"$scrape") lines, $ctype"
[[ $ctype == text/plain*version=0.0.4* ]] || augur_it_fail "content type $ctype"
for m in augur_guest_memory_used_bytes augur_guest_memory_allocation_bytes augur_guest_cpu_used_cores \
         augur_guest_vcpus; do
    grep -qE "^$m\\{domain=\"$G\",uuid=\"$uuid\"\\} [0-9.e+]+\$" "$scrape" ||
        augur_it_fail "no $m for $G: $(grep "^$m" "$scrape" | head -n 3)"
done
grep -qE '^augur_tick_duration_seconds_count [1-9]' "$scrape" || augur_it_fail "no tick durations"
if grep -qE "^augur_guest_reports_dropped_total\\{domain=\"$G\",uuid=\"$uuid\",reason=\"rate\"\\} [0-9]+\$" "$scrape"; then
    augur_it_log "activity drop counters exported"
else
    augur_it_log "no activity drop counters for $G (no activity channel attached)"
fi
grep -qE "^augur_guest_memory_forecast_bytes\\{domain=\"$G\"" "$scrape" &&
    augur_it_log "forecast series present" || augur_it_log "no forecast series yet (baselines still warming up)"
grep -qE "^augur_actions_total\\{domain=\"$G\",uuid=\"$uuid\",resource=\"memory\",action=\"shrink\",reason=\"[a-z-]+\"\\} [1-9]" "$scrape" ||
    augur_it_fail "no shrink in augur_actions_total: $(grep '^augur_actions_total' "$scrape")"
# Two real parsers of the text format: promtool (prometheus package, when
# installed) and prometheus_client's (python3-prometheus-client, which
# scripts/install-deps installs); the start checked that one exists.
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$scrape" || augur_it_fail "promtool rejects the exposition"
    augur_it_log "promtool check metrics: ok"
fi
rc=0
out=$("$PROM_PY" "$(dirname -- "${BASH_SOURCE[0]}")/prom-parse.py" <"$scrape") || rc=$?
case $rc in
0)  augur_it_log "prometheus_client parser: ok ($out)" ;;
77) augur_it_log "python3-prometheus-client not installed" ;;
*)  augur_it_fail "prometheus_client's parser rejects the exposition" ;;
esac
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing-here")
[[ $code == 404 ]] || augur_it_fail "GET /nothing-here: $code, want 404"

st=$("$VIRT_AUGUR" --db "$AUGUR_DB" status) || augur_it_fail "status failed"
grep -qE "^Metrics: +http://127\.0\.0\.1:$PORT/metrics\$" <<<"$st" || augur_it_fail "status does not show the metrics endpoint: $st"

# ---- 3. plot ----------------------------------------------------------------
svg=$AUGUR_IT_DIR/$G.svg
png=$AUGUR_IT_DIR/$G.png
"$VIRT_AUGUR" --db "$AUGUR_DB" plot "$G" --since 10m --out "$svg" || augur_it_fail "plot --out svg failed"
"$VIRT_AUGUR" --db "$AUGUR_DB" plot "$uuid" --since 10m --out "$png" --width 800 --height 500 ||
    augur_it_fail "plot --out png failed"
python3 - "$svg" "$png" <<'EOF' || augur_it_fail "plot output is not valid SVG/PNG"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith('svg'), root.tag
head = open(sys.argv[2], 'rb').read(24)
assert head[:8] == b'\x89PNG\r\n\x1a\n', head
w, h = int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')
assert (w, h) == (800, 500), (w, h)
EOF
# Layers by colour (plot.h): used memory/CPU and the allocation always; the
# band when a decision had a forecast; grow/shrink/other markers when an
# action was taken or recommended.
c_used='rgb(12.156863%,46.666667%,70.588235%)'
c_band='rgb(100%,54.901961%,0%)'
c_other='rgb(49.803922%,49.803922%,49.803922%)'
c_shrink='rgb(83.921569%,15.294118%,15.686275%)'
uses=$(grep -o -- "$c_used" "$svg" | wc -l)
((uses >= 2)) || augur_it_fail "the history lines are not in the SVG ($uses)"
nband=$(augur_it_sql "SELECT count(*) FROM decisions WHERE mem_upper_kib IS NOT NULL")
if ((nband > 0)); then
    (($(grep -o -- "$c_band" "$svg" | wc -l) >= 2)) || augur_it_fail "$nband forecasts stored but no band in the SVG"
    augur_it_log "plot: forecast band from $nband decisions"
fi
nrec=$(augur_it_sql "SELECT count(*) FROM decisions WHERE mem_action LIKE 'recommend%' OR cpu_action LIKE 'recommend%'")
if ((nrec > 0)); then
    (($(grep -o -- "$c_other" "$svg" | wc -l) >= 2)) || augur_it_fail "$nrec recommendations stored but no marker in the SVG"
    augur_it_log "plot: $nrec recommendation markers"
fi
# the legend has one red swatch; each shrink adds a marker
(($(grep -o -- "$c_shrink" "$svg" | wc -l) >= 2)) || augur_it_fail "no shrink marker in the SVG"
augur_it_log "plot: $(stat -c %s "$svg") bytes SVG, $(stat -c %s "$png") bytes PNG"
rc=0
"$VIRT_AUGUR" --db "$AUGUR_DB" plot "$G" --out "$AUGUR_IT_DIR/x.gif" 2>/dev/null || rc=$?
((rc == 1)) || augur_it_fail "plot to .gif: exit $rc, want 1"

# ---- 4. top -----------------------------------------------------------------
top=$("$VIRT_AUGUR" --db "$AUGUR_DB" top --once) || augur_it_fail "top --once failed"
printf '%s\n' "$top"
grep -q "augurd pid $AUGURD_PID" <<<"$top" || augur_it_fail "top did not use augurd's socket"
# The last action is the balloon shrink, or a vCPU change made after it (in
# act mode a guest still settling after boot may get its second vCPU).
grep -qE "^$G +running +act +[0-9]+ +[0-9]+ .* ([a-z]+ [0-9]+->[0-9]+ MiB|vcpus [0-9]+->[0-9]+) \\([0-9]+s ago\\)\$" <<<"$top" ||
    augur_it_fail "top does not list $G with numbers and its last action"
top=$(AUGUR_SOCKET=$AUGUR_IT_DIR/nobody.sock "$VIRT_AUGUR" --db "$AUGUR_DB" top -n 2 --delay 0.2) ||
    augur_it_fail "top without augurd failed"
(($(grep -c '^virt-augur top' <<<"$top") == 2)) || augur_it_fail "top -n 2 did not refresh twice"
grep -q 'database only' <<<"$top" || augur_it_fail "top without augurd does not say so"
grep -qE "^$G " <<<"$top" || augur_it_fail "top from the database does not list $G"
# On a terminal a single q ends it (no Enter), and the terminal gets its
# line mode back afterwards.
python3 - "$VIRT_AUGUR" "$AUGUR_DB" <<'EOF' || augur_it_fail "top on a terminal does not end on q, or leaves the terminal raw"
import os, pty, select, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--db", sys.argv[2], "top", "--delay", "1"])
time.sleep(1.5)
if termios.tcgetattr(fd)[3] & termios.ICANON:
    sys.exit("top did not switch the terminal to single keys")
os.write(fd, b"q")
deadline = time.time() + 5
while True:
    if time.time() > deadline:
        os.kill(pid, 9)
        sys.exit("top still runs 5 s after q")
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            os.read(fd, 65536)
        except OSError:
            pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
if status != 0:
    sys.exit("top exited with status %d" % status)
if not termios.tcgetattr(fd)[3] & termios.ICANON:
    sys.exit("top left the terminal without line mode")
EOF

augur_it_log "PASS"
