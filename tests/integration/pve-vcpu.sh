#!/bin/bash
# tests/integration/pve-vcpu.sh: augurd --mode act on pve:/// adds a vCPU
# to a REAL QEMU (pve-lib.sh) through `qm set <vmid> --vcpus N`, here the
# stand-in tests/integration/qm-standin.py behind pve:///?qm=PATH, which
# plugs the CPU over QMP as qemu-server does (device_add per
# query-hotpluggable-cpus) and rewrites vcpus: in the conf.
#
# The guest: vmid 100, `cores: 2`, `vcpus: 1` (QEMU -smp 1,maxcpus=2), a
# CPU burst of 2 busy loops for 30 s every 40 s.  augurd: an empty
# augur.conf, --tick 1 --mode act.  Asserted, within 240 s:
#   - the test's own QMP client (a second monitor) counts 2 vCPUs in
#     query-cpus-fast;
#   - the conf says vcpus: 2 (the stand-in wrote it; augur reads it back);
#   - the guest onlined the new CPU (its console's augur-cpu-online line);
#   - augurd logged no failed vCPU change;
#   - the guest agent (agent: 1, qemu-server's <vmid>.qga port, qemu-ga in
#     the guest) answered augurd: an activity row from the agent with the
#     guest's user count;
#   - hooks/augur-hook run as qemu-server runs a hookscript (`augur-hook 100
#     post-start`) reached augurd's API socket: a hook event attached to
#     vmid 100's guest;
#   - the balloon (balloon: 512 below memory: 768, no shares: 0) is
#     pvestatd's to move: augurd says so once, sets no balloon, its
#     decisions carry the veto balloon-owned, and `virt-augur explain`
#     says the setting that hands it to augur (shares: 0).
# Without the guest agent augur never takes a vCPU back (no live unplug),
# so nothing is asserted about fewer.
# Then the per-VM policy: virt-augur -c pve:///... policy 100 --set
# mode=recommend vcpus_max=2 writes the description's augur block through
# the stand-in (qm set --description); --json shows it from "metadata";
# vcpus_max=3 (above cores: 2) is refused; augurd records a
# metadata-change event within 5 s and its decisions are in mode recommend
# within 10 s.
# Exit: 0 pass, 77 skip, 1 fail.  About 1-3 min.
set -euo pipefail

PVE_IT_NAME=pve-vcpu
. "$(dirname -- "${BASH_SOURCE[0]}")/pve-lib.sh"
TIMEOUT_S=240
AGENT_SOURCE=1   # sql/store-activity.h AUGUR_ACTIVITY_SOURCE_AGENT

pve_it_setup
cat >"$CONF/100.conf" <<'EOF'
#augur vCPU test (tests/integration/pve-vcpu.sh)
agent: 1
balloon: 512
cores: 2
memory: 768
name: pvevcpu
sockets: 1
vcpus: 1
EOF
log "QEMU (TCG, 1 of 2 vCPUs) with 2 busy loops for 30 s every 40 s"
pve_it_start_qemu 100 768 2 1 \
    "augur.workload=periodic-cpu augur.period=40 augur.hold=30 augur.cpus=2 augur.delay=5" \
    -qmp "unix:$RUN/test.qmp,server=on,wait=off" \
    -chardev "socket,path=$RUN/100.qga,server=on,wait=off,id=qga0" \
    -device virtio-serial,id=qga0 -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0
pve_it_wait_console 100 '^AUGUR-GUEST-READY' 180 || fail "the guest did not boot"
cpus() {
    pve_it_qmp "$RUN/test.qmp" query-cpus-fast | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
n=$(cpus)
((n == 1)) || fail "query-cpus-fast counts $n vCPUs at boot, not 1"

PVE_IT_URI_EXTRA="&qm=$SRCDIR/tests/integration/qm-standin.py" pve_it_start_augurd act --socket "$DIR/augurd.sock"
deadline=$((SECONDS + TIMEOUT_S))
while :; do
    kill -0 "$AUGURD_PID" 2>/dev/null || fail "augurd exited"
    n=$(cpus)
    ((n >= 2)) && break
    ((SECONDS < deadline)) || fail "still $n vCPU(s) after ${TIMEOUT_S}s"
    sleep 2
done
log "query-cpus-fast: $n vCPUs after $((SECONDS))s"
grep -q '^vcpus: 2$' "$CONF/100.conf" || fail "the conf does not say vcpus: 2: $(grep vcpus "$CONF/100.conf")"
pve_it_wait_console 100 'augur-cpu-online' 30 || fail "the guest did not online the new CPU"
if grep -i 'vcpu' "$DIR/augurd.log" | grep -qi 'fail'; then
    fail "augurd logged a failed vCPU change: $(grep -i vcpu "$DIR/augurd.log" | grep -i fail | head -n1)"
fi
log "augurd: $(grep -m1 'vCPUs [0-9]* -> ' "$DIR/augurd.log" || echo 'no vCPU action logged')"
q() { sqlite3 -batch -noheader "$DIR/augur.db" "$1" 2>/dev/null || true; }
grep -q "its balloon is moved by Proxmox's auto-ballooning" "$DIR/augurd.log" ||
    fail "augurd did not say the balloon is pvestatd's (balloon: below memory:, no shares: 0)"
(($(q "SELECT count(*) FROM actuations WHERE kind = 'balloon'") == 0)) ||
    fail "augurd set the balloon of a guest pvestatd balloons: $(q "SELECT * FROM actuations WHERE kind = 'balloon'")"
(($(q "SELECT count(*) FROM decisions WHERE mem_veto = 'balloon-owned'") > 0)) ||
    fail "no decision carries the veto balloon-owned"
deadline=$((SECONDS + 30))
until (($(q "SELECT count(*) FROM activity WHERE source = $AGENT_SOURCE AND users IS NOT NULL") > 0)); do
    ((SECONDS < deadline)) || fail "no guest agent answer through $RUN/100.qga recorded (activity source $AGENT_SOURCE)"
    sleep 1
done
log "the guest agent answered through 100.qga: users = $(q "SELECT users FROM activity WHERE source = $AGENT_SOURCE LIMIT 1")"
printf '[daemon]\nsocket = %s\n' "$DIR/augurd.sock" >"$DIR/hook.conf"
AUGUR_HOOK_CONFIG=$DIR/hook.conf "$BUILDDIR/hooks/augur-hook" 100 post-start </dev/null ||
    fail "augur-hook 100 post-start exited $?"
deadline=$((SECONDS + 5))
until (($(q "SELECT count(*) FROM events e JOIN domains d ON d.id = e.domain_id
            WHERE d.libvirt_id = 100 AND e.kind = 'hook' AND e.info LIKE 'started begin%'") > 0)); do
    ((SECONDS < deadline)) || fail "the hookscript's post-start did not reach augurd as vmid 100's hook event"
    sleep 0.2
done
log "the hookscript's post-start reached augurd: $(q "SELECT info FROM events WHERE kind = 'hook' LIMIT 1")"
"$BUILDDIR/virsh-ext/virt-augur" --db "$DIR/augur.db" explain pvevcpu >"$DIR/explain.txt" 2>&1 || true
grep -q -- "--shares 0" "$DIR/explain.txt" ||
    fail "virt-augur explain does not say how to hand the balloon to augur: $(cat "$DIR/explain.txt")"
log "the balloon left to pvestatd: no balloon actuation, $(q "SELECT count(*) FROM decisions WHERE mem_veto = 'balloon-owned'") decisions vetoed"

# ---- the per-VM policy: virt-augur policy -c pve:///... writes the augur
# block of the VM's description through the same qm (stand-in, --description);
# augurd, running, sees the block change (a metadata-change event).
VIRT_AUGUR=$BUILDDIR/virsh-ext/virt-augur
URI="pve:///?run=$RUN&conf=$CONF&qm=$SRCDIR/tests/integration/qm-standin.py"
export AUGUR_CONFIG=$DIR/augur.conf
out=$("$VIRT_AUGUR" -c "$URI" policy 100 --set mode=recommend vcpus_max=2) || fail "virt-augur policy --set failed: $out"
grep -q '^#```augur$' "$CONF/100.conf" && grep -q '^#mode = recommend$' "$CONF/100.conf" ||
    fail "no augur block in the description: $(grep '^#' "$CONF/100.conf" | tr '\n' ' ')"
json=$("$VIRT_AUGUR" -c "$URI" --json policy pvevcpu)
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["mode"] == "recommend" and d["vcpus_max"] == 2, d; assert d["in_effect"]["mode"]["from"] == "metadata", d' "$json" ||
    fail "virt-augur policy --json does not show the block: $json"
if "$VIRT_AUGUR" -c "$URI" policy 100 --set vcpus_max=3 >/dev/null 2>"$DIR/refused.err"; then
    fail "vcpus_max=3 above cores: 2 was accepted"
fi
log "refused as it should be: $(cat "$DIR/refused.err")"
deadline=$((SECONDS + 5))
until (($(q "SELECT count(*) FROM events WHERE kind = 'metadata-change'") > 0)); do
    ((SECONDS < deadline)) || fail "augurd recorded no metadata-change within 5 s of the description's change"
    sleep 0.5
done
deadline=$((SECONDS + 10))
until (($(q "SELECT count(*) FROM decisions WHERE mode = 'recommend'") > 0)); do
    ((SECONDS < deadline)) || fail "augurd's decisions never took the block's mode=recommend"
    sleep 0.5
done
log "policy written to the description; augurd saw the change and decides in mode recommend"
log "PASS: augurd added a vCPU through qm set (stand-in), and virt-augur policy works on pve:/// ($((SECONDS))s)"
