#!/bin/bash
# guest-smoke.sh: boots one real test guest and checks what augur relies on.
#
# What it is: an automake test (exit 0 pass, 1 fail, 77 skip) against real
# QEMU (TCG) under a private libvirtd (tests/integration/lib.sh).  It checks:
#   1. the guest boots and prints AUGUR-GUEST-READY;
#   2. balloon stats appear in virDomainGetAllDomainStats (virsh domstats);
#   3. setmem --live changes MemTotal inside the guest (read via guest-exec);
#   4. a hot-plugged 2nd vCPU (setvcpus --live) is onlined by the guest
#      (augur-cpu-online), read via guest-exec from .../cpu/online;
#   5. vCPU offlining through the guest agent (setvcpus --guest) works;
#   6. the org.augur.activity.0 channel is visible in the guest;
#   7. the periodic-mem workload's AUGUR-JOB-START/END markers appear.
# It prints plain progress lines with elapsed times.
#
# What it is not: a test of the augur daemon itself, and not a benchmark.
# Live vCPU hot-UNplug is deliberately not tested: it is broken on QEMU
# 7.2/TCG (libvirt times out), which is why augur scales down via the agent.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

G=smoke
augur_it_require_root_tools
augur_it_setup

augur_it_log "starting guest $G (512 MiB max, 384 MiB current, 1 of 4 vCPUs, periodic-mem)"
boot_t0=${EPOCHREALTIME}
augur_it_start_guest "$G" --max-mib 512 --cur-mib 384 --vcpus-max 4 --vcpus 1 \
    --workload periodic-mem --param period=12 --param size_mib=48 --param hold=3

line=$(augur_it_wait_console "$G" '^AUGUR-GUEST-READY' 120) ||
    augur_it_fail "no AUGUR-GUEST-READY on the console within 120 s"
boot_s=$(awk -v a="$boot_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
augur_it_log "guest ready after ${boot_s} s: $line"

augur_it_wait_balloon "$G" 60 || augur_it_fail "balloon.usable never appeared in domstats"
augur_it_log "balloon stats: $(augur_it_virsh domstats --balloon -- "$G" |
    grep -E 'balloon\.(current|usable|available)=' | tr -d ' ' | tr '\n' ' ')"

augur_it_wait_agent "$G" 60 || augur_it_fail "qemu-ga did not answer guest-ping within 60 s"
augur_it_log "guest agent answers"

# --- setmem LIVE: MemTotal in the guest follows ----------------------------
# The guest boots with all 512 MiB and inflates the balloon to the 384 MiB
# target over a few seconds: measure only once balloon.current has settled.
balloon_current_is() {  # KIB: balloon.current within 1 MiB of KIB
    local cur
    cur=$(augur_it_virsh domstats --balloon -- "$G" | sed -n 's/^ *balloon\.current=//p')
    [[ -n $cur ]] && ((cur >= $1 - 1024 && cur <= $1 + 1024))
}
augur_it__poll 60 balloon_current_is $((384 * 1024)) ||
    augur_it_fail "balloon never reached the 384 MiB currentMemory"
augur_it_log "balloon settled at 384 MiB"
memtotal_kib() {
    augur_it_guest_exec "$G" cat /proc/meminfo | awk '$1 == "MemTotal:" { print $2 }'
}
before=$(memtotal_kib) || augur_it_fail "guest-exec cat /proc/meminfo failed"
[[ -n $before ]] || augur_it_fail "no MemTotal in the guest's /proc/meminfo"
augur_it_log "guest MemTotal ${before} KiB; setmem 320 MiB --live"
augur_it_virsh setmem --live -- "$G" 320M || augur_it_fail "virsh setmem failed"
# 64 MiB less balloon: expect MemTotal to drop by at least 48 MiB.
memtotal_dropped() {
    local now
    now=$(memtotal_kib) || return 1
    [[ -n $now ]] && ((now <= before - 48 * 1024))
}
augur_it__poll 30 balloon_current_is $((320 * 1024)) ||
    augur_it_fail "balloon.current did not reach 320 MiB"
augur_it__poll 30 memtotal_dropped ||
    augur_it_fail "MemTotal did not drop after setmem (now $(memtotal_kib) KiB)"
after=$(memtotal_kib)
augur_it_log "guest MemTotal ${after} KiB after setmem (-$(((before - after) / 1024)) MiB)"
augur_it_virsh setmem --live -- "$G" 384M || augur_it_fail "virsh setmem back failed"
memtotal_back() {
    local now
    now=$(memtotal_kib) || return 1
    [[ -n $now ]] && ((now >= before - 8 * 1024))
}
augur_it__poll 30 memtotal_back || augur_it_fail "MemTotal did not grow back after setmem 384M"
augur_it_log "guest MemTotal back to $(memtotal_kib) KiB"

# --- vCPU hotplug: the guest onlines the new CPU ---------------------------
cpus_online_is() {
    local now
    now=$(augur_it_guest_exec "$G" cat /sys/devices/system/cpu/online) || return 1
    [[ $now == "$1" ]]
}
augur_it_log "setvcpus 2 --live (hotplug)"
augur_it_virsh setvcpus --live -- "$G" 2 || augur_it_fail "virsh setvcpus 2 --live failed"
augur_it__poll 30 cpus_online_is 0-1 ||
    augur_it_fail "hot-plugged cpu1 not online in the guest ($(augur_it_guest_exec "$G" cat /sys/devices/system/cpu/online))"
augur_it_log "guest CPUs online: 0-1"

# --- vCPU offlining through the guest agent --------------------------------
augur_it_log "setvcpus 1 --guest (agent offlines cpu1)"
augur_it_virsh setvcpus --guest -- "$G" 1 || augur_it_fail "virsh setvcpus 1 --guest failed"
augur_it__poll 15 cpus_online_is 0 || augur_it_fail "cpu1 still online after setvcpus --guest 1"
n=$(augur_it_virsh vcpucount --guest -- "$G" | tr -d ' ')
[[ $n == 1 ]] || augur_it_fail "vcpucount --guest says '$n', want 1"
augur_it_virsh setvcpus --guest -- "$G" 2 || augur_it_fail "virsh setvcpus 2 --guest failed"
augur_it__poll 15 cpus_online_is 0-1 || augur_it_fail "cpu1 not back online after setvcpus --guest 2"
augur_it_log "agent offline/online of cpu1 works"

# --- augur's activity channel is there --------------------------------------
augur_it_guest_exec "$G" test -e /dev/virtio-ports/org.augur.activity.0 ||
    augur_it_fail "no /dev/virtio-ports/org.augur.activity.0 in the guest"
augur_it_log "org.augur.activity.0 present in the guest"

# --- workload markers -------------------------------------------------------
line=$(augur_it_wait_console "$G" '^AUGUR-JOB-START [0-9]+ .*job=mem' 60 2) ||
    augur_it_fail "fewer than 2 AUGUR-JOB-START markers within 60 s"
augur_it_log "2nd job: $line"
line=$(augur_it_wait_console "$G" '^AUGUR-JOB-END [0-9]+ .*job=mem rc=0' 30 1) ||
    augur_it_fail "no AUGUR-JOB-END rc=0 marker"
augur_it_log "job end: $line"

augur_it_log "PASS guest-smoke (boot ${boot_s} s)"
