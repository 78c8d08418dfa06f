# shellcheck shell=bash
# tests/integration/lib.sh: shell helpers for augur's real-guest integration tests.
#
# What it is: sourced (bash) by tests/integration/*.sh.  It builds or finds the
# test guest (scripts/build-test-guest), starts a private unprivileged
# libvirtd in a temp dir (scripts/augur-libvirtd), boots guests from
# scripts/augur-guest-xml, and offers polling helpers with timeouts (console
# markers, balloon stats, guest-exec through qemu-ga).  An EXIT trap ALWAYS
# destroys the domains and stops the daemon, whether the test passed, failed,
# was skipped after setup, or was interrupted; a detached reaper does the same
# if the test shell is SIGKILLed.
#
# What it is not: a test framework.  It prints plain progress lines (no TAP);
# the test's exit code is the verdict (automake: 0 pass, 1 fail, 77 skip).
# It never sleeps blindly for long: every wait polls with a deadline.
#
# Usage:
#   . "$(dirname "$0")/lib.sh"
#   augur_it_require_root_tools          # exit 77 with a reason if tools are missing
#   augur_it_setup                       # temp dir + libvirtd + guest + cleanup trap
#   augur_it_start_guest NAME [augur-guest-xml options...]
#   augur_it_wait_console NAME ERE TIMEOUT_S [COUNT]   # prints the matching line
#   augur_it_wait_balloon NAME TIMEOUT_S
#   augur_it_wait_agent NAME TIMEOUT_S  # until qemu-ga answers guest-ping
#   augur_it_guest_exec NAME CMD [ARG...]   # stdout/stderr of CMD; returns its exit code
#   augur_it_virsh ARGS...               # virsh -c "$AUGUR_IT_URI" ARGS...
#   augur_it_log MSG / augur_it_fail MSG / augur_it_skip MSG
# Variables after setup: AUGUR_IT_DIR, AUGUR_IT_URI, AUGUR_IT_KERNEL,
#   AUGUR_IT_INITRD, AUGUR_IT_CHANDIR.
# Environment: AUGUR_GUEST_DIR (guest build cache), AUGUR_IT_KEEP=1 (keep the
#   temp dir even on success; it is always kept on failure),
#   AUGUR_IT_EXEC_TIMEOUT (guest-exec deadline, default 60 s).

AUGUR_IT_SRCDIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
AUGUR_IT_T0=${EPOCHREALTIME:-$(date +%s.%N)}
AUGUR_IT_DIR=
AUGUR_IT_URI=
AUGUR_IT_LVDIR=
AUGUR_IT_CHANDIR=
AUGUR_IT_KERNEL=
AUGUR_IT_INITRD=
declare -ga AUGUR_IT_GUESTS=()

# ------------------------------------------------------------------ messages
augur_it_elapsed() {  # seconds since the test started, one decimal
    local now=${EPOCHREALTIME:-$(date +%s.%N)}
    awk -v a="$AUGUR_IT_T0" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}
augur_it_log() { printf '[%6ss] %s\n' "$(augur_it_elapsed)" "$*"; }
augur_it_fail() { printf '[%6ss] FAIL: %s\n' "$(augur_it_elapsed)" "$*"; exit 1; }
augur_it_skip() { printf '[%6ss] SKIP: %s\n' "$(augur_it_elapsed)" "$*"; exit 77; }

# --------------------------------------------------------------------- tools
augur_it_require_root_tools() {
    local c
    for c in libvirtd virsh qemu-system-x86_64 base64 timeout mktemp; do
        command -v "$c" >/dev/null 2>&1 ||
            augur_it_skip "'$c' not installed (apt-get install --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86)"
    done
    [[ -x /bin/busybox ]] || augur_it_skip "no /bin/busybox (apt-get install busybox-static)"
    command -v gcc >/dev/null 2>&1 || augur_it_skip "no gcc to build the guest helpers"
    if [[ $(id -u) -eq 0 ]]; then
        command -v runuser >/dev/null 2>&1 || augur_it_skip "no runuser (util-linux)"
    fi
    if [[ ! -d /usr/lib/x86_64-linux-gnu/libvirt/connection-driver ]] ||
       ! compgen -G '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/*qemu*' >/dev/null; then
        augur_it_skip "libvirt's QEMU driver is missing (apt-get install libvirt-daemon-driver-qemu)"
    fi
}

# ------------------------------------------------------------ setup/cleanup
augur_it__cleanup() {
    local rc=$? name
    trap - EXIT INT TERM
    set +e
    if [[ -n $AUGUR_IT_LVDIR ]]; then
        if ((rc != 0 && rc != 77)); then
            for name in "${AUGUR_IT_GUESTS[@]}"; do
                printf -- '--- console of %s (last 30 lines) ---\n' "$name"
                tail -n 30 -- "$AUGUR_IT_CHANDIR/$name.console.log" 2>/dev/null
            done
            # minus the start-up noise of a session daemon without dbus/kvm
            printf -- '--- libvirtd.log (errors, last 15) ---\n'
            grep -E ': error :' -- "$AUGUR_IT_LVDIR/libvirtd.log" 2>/dev/null |
                grep -vE 'dnsmasq|GDBus|udevGetDMIData|/dev/kvm' | tail -n 15
        fi
        # Destroys every domain, stops libvirtd + virtlogd, kills leftover QEMU.
        "$AUGUR_IT_SRCDIR/scripts/augur-libvirtd" stop "$AUGUR_IT_LVDIR"
    fi
    if [[ -n $AUGUR_IT_DIR && -d $AUGUR_IT_DIR ]]; then
        if ((rc == 0 || rc == 77)) && [[ ${AUGUR_IT_KEEP:-0} != 1 ]]; then
            rm -rf -- "$AUGUR_IT_DIR"
        else
            printf 'kept %s for inspection\n' "$AUGUR_IT_DIR"
        fi
    fi
    exit "$rc"
}

augur_it_setup() {
    local out kernel initrd user
    trap augur_it__cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    augur_it_log "building/finding the test guest"
    local brc=0
    out=$("$AUGUR_IT_SRCDIR/scripts/build-test-guest" 2>"${TMPDIR:-/tmp}/augur-it-build.$$.log") ||
        brc=$?
    if ((brc != 0)); then
        tail -n 20 -- "${TMPDIR:-/tmp}/augur-it-build.$$.log"
        rm -f -- "${TMPDIR:-/tmp}/augur-it-build.$$.log"
        ((brc == 77)) && augur_it_skip "build-test-guest cannot build the guest here"
        augur_it_fail "build-test-guest failed ($brc)"
    fi
    rm -f -- "${TMPDIR:-/tmp}/augur-it-build.$$.log"
    kernel=$(printf '%s\n' "$out" | sed -n 's/^KERNEL=//p' | tail -n1)
    initrd=$(printf '%s\n' "$out" | sed -n 's/^INITRD=//p' | tail -n1)
    [[ -r $kernel && -r $initrd ]] || augur_it_fail "build-test-guest printed no kernel/initrd"

    # Short path: unix socket paths (channel dir + name) must stay < 108 bytes.
    AUGUR_IT_DIR=$(mktemp -d /tmp/augur-it.XXXXXX)
    chmod 755 -- "$AUGUR_IT_DIR"   # the daemon's user must reach DIR/lv
    AUGUR_IT_LVDIR=$AUGUR_IT_DIR/lv
    augur_it_log "starting private libvirtd in $AUGUR_IT_LVDIR"
    brc=0
    AUGUR_IT_URI=$("$AUGUR_IT_SRCDIR/scripts/augur-libvirtd" start "$AUGUR_IT_LVDIR") || brc=$?
    ((brc != 77)) || augur_it_skip "augur-libvirtd cannot run a daemon here"
    ((brc == 0)) || augur_it_fail "augur-libvirtd start failed ($brc)"
    # Reaper: if this shell dies without running its EXIT trap (SIGKILL, a
    # harness timeout killing our process group), stop the daemon anyway, or
    # its TCG guests keep burning host CPU.  Own session, so group kills miss
    # it; `tail --pid` wakes once a second, and a second stop is a no-op.
    # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
    setsid bash -c 'tail --pid="$1" -f /dev/null 2>/dev/null; exec "$2" stop "$3"' \
        augur-it-reaper "$$" "$AUGUR_IT_SRCDIR/scripts/augur-libvirtd" "$AUGUR_IT_LVDIR" \
        </dev/null >/dev/null 2>&1 &
    AUGUR_IT_CHANDIR=$AUGUR_IT_LVDIR/ch
    mkdir -p -- "$AUGUR_IT_CHANDIR"
    user=
    if [[ $(id -u) -eq 0 ]]; then
        user=$(stat -c %U -- "$AUGUR_IT_LVDIR")
        chown -- "$user:" "$AUGUR_IT_CHANDIR"
    fi

    # QEMU runs as the daemon's user and must read kernel and initrd.  A cache
    # under /root is not readable: link (same fs) or copy them next to us.
    if [[ -n $user ]] && ! runuser -u "$user" -- test -r "$kernel" -a -r "$initrd"; then
        mkdir -p -- "$AUGUR_IT_DIR/guest"
        ln -f -- "$kernel" "$AUGUR_IT_DIR/guest/kernel" 2>/dev/null ||
            cp -- "$kernel" "$AUGUR_IT_DIR/guest/kernel"
        ln -f -- "$initrd" "$AUGUR_IT_DIR/guest/initrd" 2>/dev/null ||
            cp -- "$initrd" "$AUGUR_IT_DIR/guest/initrd"
        chmod 644 -- "$AUGUR_IT_DIR/guest/kernel" "$AUGUR_IT_DIR/guest/initrd"
        kernel=$AUGUR_IT_DIR/guest/kernel
        initrd=$AUGUR_IT_DIR/guest/initrd
    fi
    AUGUR_IT_KERNEL=$kernel
    AUGUR_IT_INITRD=$initrd
    augur_it_log "guest kernel $AUGUR_IT_KERNEL"
}

augur_it_virsh() { virsh -q -c "$AUGUR_IT_URI" "$@"; }

augur_it_console_log() { printf '%s\n' "$AUGUR_IT_CHANDIR/$1.console.log"; }

# augur_it_start_guest NAME [augur-guest-xml options]: defines and starts a
# transient domain.  Later options override the defaults (max 512 MiB,
# current 384 MiB, 1 of 4 vCPUs, idle workload).
augur_it_start_guest() {
    local name=$1 xml
    shift
    xml=$AUGUR_IT_DIR/$name.xml
    "$AUGUR_IT_SRCDIR/scripts/augur-guest-xml" --name "$name" \
        --kernel "$AUGUR_IT_KERNEL" --initrd "$AUGUR_IT_INITRD" \
        --channel-dir "$AUGUR_IT_CHANDIR" --max-mib 512 --cur-mib 384 \
        --vcpus-max 4 --vcpus 1 "$@" >"$xml" ||
        augur_it_fail "augur-guest-xml failed for $name"
    AUGUR_IT_GUESTS+=("$name")
    augur_it_virsh create "$xml" >/dev/null || augur_it_fail "virsh create $name failed"
}

# augur_it__poll TIMEOUT_S CMD...: run CMD every 0.2 s until it succeeds.
augur_it__poll() {
    local deadline
    deadline=$(awk -v t="${EPOCHREALTIME:-$(date +%s.%N)}" -v d="$1" 'BEGIN { printf "%d", t + d }')
    shift
    while :; do
        "$@" && return 0
        (($(date +%s) < deadline)) || return 1
        sleep 0.2
    done
}

augur_it__console_has() {  # NAME ERE COUNT
    local n
    n=$(grep -aEc -- "$2" "$AUGUR_IT_CHANDIR/$1.console.log" 2>/dev/null) || n=0
    ((n >= $3))
}

# augur_it_wait_console NAME ERE TIMEOUT_S [COUNT]: wait until the guest's
# console log has COUNT (default 1) lines matching ERE; print the last one.
augur_it_wait_console() {
    local name=$1 re=$2 timeout=$3 count=${4:-1}
    augur_it__poll "$timeout" augur_it__console_has "$name" "$re" "$count" || return 1
    grep -aE -- "$re" "$AUGUR_IT_CHANDIR/$name.console.log" | sed -n "${count}p"
}

augur_it__balloon_ready() {
    augur_it_virsh domstats --balloon -- "$1" 2>/dev/null | grep 'balloon\.usable=' >/dev/null
}
# augur_it_wait_balloon NAME TIMEOUT_S: until the guest's balloon driver has
# reported stats (before that the balloon.* fields are absent).
augur_it_wait_balloon() { augur_it__poll "$2" augur_it__balloon_ready "$1"; }

augur_it__agent_ready() {
    augur_it_virsh qemu-agent-command -- "$1" '{"execute":"guest-ping"}' >/dev/null 2>&1
}
# augur_it_wait_agent NAME TIMEOUT_S: until qemu-ga in the guest answers.
# libvirt says "agent is not connected" until qemu-ga has opened its port.
augur_it_wait_agent() { augur_it__poll "$2" augur_it__agent_ready "$1"; }

# JSON string literal of $1 (quotes, backslashes and control characters).
augur_it__json_str() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            '"') out+='\"' ;;
            \\) out+="\\\\" ;;
            $'\n') out+='\n' ;;
            $'\t') out+='\t' ;;
            $'\r') out+='\r' ;;
            *)
                if [[ $c < ' ' ]]; then
                    out+=$(printf '\\u%04x' "'$c")
                else
                    out+=$c
                fi ;;
        esac
    done
    printf '"%s"' "$out"
}

# augur_it_guest_exec NAME CMD [ARG...]: runs CMD in the guest through
# qemu-ga (guest-exec, then guest-exec-status until it exits), writes its
# decoded stdout/stderr to ours, returns its exit code (125 on agent errors,
# 124 on timeout).
augur_it_guest_exec() {
    local name=$1 args='' a req reply pid status deadline code
    shift
    for a in "${@:2}"; do
        args+=${args:+,}$(augur_it__json_str "$a")
    done
    req="{\"execute\":\"guest-exec\",\"arguments\":{\"path\":$(augur_it__json_str "$1"),\"arg\":[${args}],\"capture-output\":true}}"
    reply=$(augur_it_virsh qemu-agent-command -- "$name" "$req" 2>&1) || {
        printf 'guest-exec failed: %s\n' "$reply" >&2
        return 125
    }
    pid=$(printf '%s' "$reply" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
    [[ -n $pid ]] || { printf 'guest-exec: no pid in %s\n' "$reply" >&2; return 125; }
    deadline=$(($(date +%s) + ${AUGUR_IT_EXEC_TIMEOUT:-60}))
    while :; do
        status=$(augur_it_virsh qemu-agent-command -- "$name" \
            "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}" 2>&1) || {
            printf 'guest-exec-status failed: %s\n' "$status" >&2
            return 125
        }
        [[ $status == *'"exited":true'* ]] && break
        (($(date +%s) < deadline)) || { printf 'guest-exec: timeout\n' >&2; return 124; }
        sleep 0.05
    done
    printf '%s' "$status" | sed -n 's/.*"out-data":"\([^"]*\)".*/\1/p' | base64 -d
    printf '%s' "$status" | sed -n 's/.*"err-data":"\([^"]*\)".*/\1/p' | base64 -d >&2
    code=$(printf '%s' "$status" | sed -n 's/.*"exitcode":\([0-9-]*\).*/\1/p')
    return "${code:-125}"
}
