#!/bin/bash
# hook.sh: the libvirt qemu hook (hooks/augur-hook) run by a real libvirtd,
# talking to a real augurd.
#
# Against a private, unprivileged session libvirtd (scripts/augur-libvirtd)
# and the real augurd on a temporary socket:
#   1. guest start and stop reach augurd: prepare/started/stopped/release
#      notifications arrive, are visible in `virt-augur status` and are
#      recorded as "hook" events;
#   2. a start still succeeds, quickly, with augurd stopped, and with augurd
#      frozen (SIGSTOP: it accepts connections but never answers), and the
#      hook itself returns within its budget; what it sent to the frozen
#      augurd arrives once augurd runs again;
#   3. a domain named '$(touch${IFS}augur-pwned);x' reaches augurd byte for
#      byte and no file "augur-pwned" appears in the hook's cwd (/), in
#      augurd's cwd, in libvirtd's HOME and cwd, in /tmp or in the test dir;
#   4. "migrate begin" and "restore" print nothing (libvirt keeps the XML).
#
# Where the hook goes: libvirt reads hooks from the fixed directory
# /etc/libvirt/hooks (SYSCONFDIR/libvirt/hooks) in every mode.  A session
# (unprivileged, qemu:///session) libvirtd reads the same directory, not
# $XDG_CONFIG_HOME/libvirt/hooks: checked on Debian 12's libvirt 9.0, where
# it runs /etc/libvirt/hooks/qemu.d/* as its own user, with cwd / and the
# environment HOME, PATH, LC_ALL (HOME is the daemon's, here DIR/lv/home).
# libvirtd looks for hooks only at start, so the hook is installed BEFORE
# the private libvirtd starts, and removed when the test ends.
#
# Every libvirtd on this machine that starts while the test runs will also
# run what we install.  So the installed file is a small wrapper that acts
# only when HOME points into this test's directory (and a marker file is
# there), and exits 0 at once for anyone else; it execs a copy of the built
# hook with AUGUR_HOOK_CONFIG set (libvirt never passes that variable; it
# exists for exactly this).
#
# Exit: 0 pass, 1 fail, 77 skip (not root, tools or build missing).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/augurd-lib.sh"

HOOK_BIN=$AUGUR_IT_BUILDDIR/hooks/augur-hook
HOOKS_ROOT=/etc/libvirt/hooks
HOOK_DIR=$HOOKS_ROOT/qemu.d
WRAPPER=$HOOK_DIR/zz-augur-it-hook-$$
HOSTILE='$(touch${IFS}augur-pwned);x'
CREATED_DIRS=()

[[ $(id -u) -eq 0 ]] || augur_it_skip "needs root: installs a hook into $HOOK_DIR"
augur_it_require_root_tools
augur_it_require_augur
[[ -x $HOOK_BIN ]] || augur_it_skip "hooks/augur-hook not built in $AUGUR_IT_BUILDDIR"

# ---- install / remove the wrapper (also on failure and interruption) -------
remove_hook() {
    local d
    rm -f -- "$WRAPPER"
    for ((d = ${#CREATED_DIRS[@]} - 1; d >= 0; d--)); do
        rmdir -- "${CREATED_DIRS[d]}" 2>/dev/null || true
    done
    CREATED_DIRS=()
}
# lib.sh's setup installs augur_it__cleanup as the EXIT trap; wrap it so
# the hook goes away and augurd stops whatever path the test exits by.
eval "$(declare -f augur_it__cleanup | sed '1s/augur_it__cleanup/augur_it__cleanup_lib/')"
augur_it__cleanup() {
    local rc=$?
    # errexit off first: under set -e, "(exit $rc)" with rc != 0 would end
    # the trap right there and leak the libvirtd and its guests.
    set +e
    [[ -n ${AUGURD_PID:-} ]] && kill -CONT "$AUGURD_PID" 2>/dev/null
    augur_it_stop_augurd
    remove_hook
    (exit "$rc")
    augur_it__cleanup_lib
}
trap augur_it__cleanup EXIT

for d in "$HOOKS_ROOT" "$HOOK_DIR"; do
    if [[ ! -d $d ]]; then
        mkdir -m 755 -- "$d"
        CREATED_DIRS+=("$d")
    fi
done
cat >"$WRAPPER" <<'EOF'
#!/bin/sh
# Installed by augur's tests/integration/hook.sh for its duration only.
# Acts only for that test's private libvirtd (HOME=TESTDIR/lv/home with a
# marker in TESTDIR); exits 0 at once for every other libvirtd.
d=${HOME%/lv/home}
if [ -z "$HOME" ] || [ "$d" = "$HOME" ] || [ ! -f "$d/augur-hook-test" ] || [ ! -x "$d/augur-hook" ]; then
    exit 0
fi
printf '%s %s\n' "$2" "$3" >>"$d/hook-calls.log"
AUGUR_HOOK_CONFIG=$d/augur.conf exec "$d/augur-hook" "$@"
EOF
chmod 755 -- "$WRAPPER"
augur_it_log "installed $WRAPPER"

# ---- private libvirtd (started after the hook exists) ----------------------
augur_it_setup
LV_USER=$(stat -c %U -- "$AUGUR_IT_LVDIR")
LV_GROUP=$(id -gn -- "$LV_USER")
LV_PID=$(tr -dc '0-9' <"$AUGUR_IT_LVDIR/pid")
SOCK=$AUGUR_IT_DIR/augurd.sock
CALLS=$AUGUR_IT_DIR/hook-calls.log
install -m 755 -- "$HOOK_BIN" "$AUGUR_IT_DIR/augur-hook"
: >"$AUGUR_IT_DIR/augur-hook-test"
: >"$CALLS"
chmod 666 -- "$CALLS"
# One config for augurd and the hook, as in production.  The libvirtd
# user's group may use the socket: the hook runs as that user.
cat >"$AUGUR_IT_DIR/augur.conf" <<EOF
[daemon]
socket=$SOCK

[api]
group=$LV_GROUP
mode=0660
EOF
chmod 644 -- "$AUGUR_IT_DIR/augur.conf"

status_json() { "$VIRT_AUGUR" --socket "$SOCK" --db "$AUGUR_DB" --json status 2>/dev/null; }
api_up() { status_json | grep '"source" : "socket"' >/dev/null; }
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
hook_events() {  # hook_events OP SUB NAME: how many such events augurd recorded
    # Compared as hex, so no name can break out of the SQL literal.  augurd
    # writes info as 'OP SUB domain="NAME"' (NAME g_strescape()d; the names
    # used here need no escaping).
    augur_it_sql "SELECT count(*) FROM events WHERE kind = 'hook'
                  AND hex(info) = '$(hex "$1 $2 domain=\"$3\"")'" 2>/dev/null || echo 0
}
have_event() { (($(hook_events "$1" "$2" "$3") >= 1)); }
status_has() { status_json | grep -F -- "$1" >/dev/null; }
calls_have() { grep -qx -- "$1" "$CALLS"; }

# A minimal domain for names augur-guest-xml refuses: direct kernel boot,
# no channels, no disk.  Its name is passed through XML escaping.
start_plain_domain() {
    local name=$1 xml=$AUGUR_IT_DIR/plain-$RANDOM.xml e
    e=$name
    e=${e//&/&amp;}; e=${e//</&lt;}; e=${e//>/&gt;}; e=${e//\"/&quot;}; e=${e//\'/&apos;}
    cat >"$xml" <<EOF
<domain type='qemu'>
  <name>$e</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$AUGUR_IT_KERNEL</kernel>
    <initrd>$AUGUR_IT_INITRD</initrd>
    <cmdline>console=ttyS0 loglevel=4 panic=-1 augur.workload=idle</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <controller type='usb' model='none'/>
    <memballoon model='virtio'><stats period='1'/></memballoon>
  </devices>
</domain>
EOF
    augur_it_virsh create "$xml" >/dev/null
}

elapsed_ms() {  # elapsed_ms CMD...: run CMD, print its wall time in ms
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }'
}

augur_it_start_augurd --tick 5 --mode observe
augur_it__poll 15 api_up || augur_it_fail "augurd's socket $SOCK never answered: $(tail -n 5 "$AUGUR_IT_DIR/augurd.log")"
perm=$(stat -c '%a %G' -- "$SOCK")
augur_it_log "augurd up; socket $perm"
[[ $perm == "660 $LV_GROUP" ]] || augur_it_fail "socket is '$perm', expected '660 $LV_GROUP'"

# ---- 1. start and stop reach augurd ----------------------------------------
G=hk
augur_it_log "starting $G"
augur_it_start_guest "$G" --max-mib 256 --cur-mib 256 --vcpus-max 1 --vcpus 1
augur_it__poll 20 have_event started begin "$G" ||
    augur_it_fail "no 'started begin' notification for $G reached augurd (hook calls: $(tr '\n' ',' <"$CALLS"))"
for ev in "prepare begin" "started begin"; do
    calls_have "$ev" || augur_it_fail "libvirt never ran the hook for '$ev'"
    have_event $ev "$G" || augur_it_fail "augurd did not record '$ev' for $G"
done
status_json | grep '"op" : "started"' >/dev/null || augur_it_fail "virt-augur status does not show the started notification"
augur_it_log "start reached augurd: $(grep -c . "$CALLS") hook calls so far"
augur_it_virsh destroy "$G" >/dev/null
augur_it__poll 20 have_event release end "$G" || augur_it_fail "no 'release end' notification for $G"
have_event stopped end "$G" || augur_it_fail "no 'stopped end' notification for $G"
augur_it_log "stop reached augurd"

# ---- 2. augurd down or frozen never blocks a start --------------------------
augur_it_stop_augurd
[[ ! -e $SOCK ]] || augur_it_fail "augurd left its socket behind"
n0=$(grep -c . "$CALLS")
ms=$(elapsed_ms augur_it_start_guest hk-down --max-mib 256 --cur-mib 256 --vcpus-max 1 --vcpus 1)
augur_it_virsh domstate hk-down 2>/dev/null | grep running >/dev/null || augur_it_fail "start failed with augurd stopped"
(($(grep -c . "$CALLS") > n0)) || augur_it_fail "the hook did not run for hk-down"
augur_it_log "start with augurd stopped: ok (virsh create ${ms} ms)"
hms=$(elapsed_ms env AUGUR_HOOK_CONFIG="$AUGUR_IT_DIR/augur.conf" "$HOOK_BIN" hk-down started begin -)
augur_it_log "hook with no augurd: ${hms} ms"
((hms < 1000)) || augur_it_fail "hook took ${hms} ms with augurd stopped"
augur_it_virsh destroy hk-down >/dev/null

augur_it_start_augurd --tick 5 --mode observe
augur_it__poll 15 api_up || augur_it_fail "augurd did not come back"
kill -STOP "$AUGURD_PID"
hms=$(elapsed_ms env AUGUR_HOOK_CONFIG="$AUGUR_IT_DIR/augur.conf" "$HOOK_BIN" hk-frozen started begin -)
augur_it_log "hook with augurd frozen (accepts, never answers): ${hms} ms"
((hms >= 80 && hms < 1000)) || augur_it_fail "hook took ${hms} ms against a frozen augurd (budget 100 ms)"
ms=$(elapsed_ms augur_it_start_guest hk-frozen --max-mib 256 --cur-mib 256 --vcpus-max 1 --vcpus 1)
augur_it_virsh domstate hk-frozen 2>/dev/null | grep running >/dev/null || augur_it_fail "start failed with augurd frozen"
augur_it_log "start with augurd frozen: ok (virsh create ${ms} ms)"
kill -CONT "$AUGURD_PID"
# What the hook sent while augurd was frozen was queued, not lost.
augur_it__poll 10 have_event started begin hk-frozen ||
    augur_it_fail "the notification sent to the frozen augurd was lost"
augur_it_virsh destroy hk-frozen >/dev/null
api_up || augur_it_fail "augurd does not answer after SIGCONT"
augur_it_log "notifications queued while frozen arrived after SIGCONT"

# ---- 3. a hostile name ------------------------------------------------------
marker=$AUGUR_IT_DIR/before-hostile
: >"$marker"
augur_it_log "starting a domain named $HOSTILE"
start_plain_domain "$HOSTILE" || augur_it_fail "libvirt refused the domain name $HOSTILE"
augur_it__poll 20 have_event started begin "$HOSTILE" ||
    augur_it_fail "augurd never recorded the started notification for the hostile name"
status_has "\"domain\" : $(augur_it__json_str "$HOSTILE")" ||
    augur_it_fail "augurd's last notification does not carry the name byte for byte"
augur_it_virsh destroy -- "$HOSTILE" >/dev/null
augur_it__poll 20 have_event release end "$HOSTILE" || augur_it_fail "no release for the hostile name"
# The hook also gets names libvirt would refuse when run by hand.
weird=$'quote" back\\slash\nnew line\ttab'
env AUGUR_HOOK_CONFIG="$AUGUR_IT_DIR/augur.conf" "$HOOK_BIN" "$weird" stopped end - </dev/null
augur_it__poll 10 status_has "\"domain\" : $(augur_it__json_str "$weird")" ||
    augur_it_fail "a name with quotes, backslash, newline and tab did not arrive intact: $(status_json | grep '"domain"')"
pwned=()
for dir in / "$AUGUR_IT_DIR" "$AUGUR_IT_LVDIR/home" "$(readlink -f "/proc/$LV_PID/cwd")" \
           "$(readlink -f "/proc/$AUGURD_PID/cwd")" "$PWD" /tmp "${TMPDIR:-/tmp}" /root; do
    [[ -e $dir/augur-pwned ]] && pwned+=("$dir/augur-pwned")
done
while IFS= read -r f; do pwned+=("$f"); done < <(find "$AUGUR_IT_DIR" /tmp -xdev -maxdepth 3 \
    -name 'augur-pwned*' -newer "$marker" 2>/dev/null)
((${#pwned[@]} == 0)) || augur_it_fail "the hostile name ran a command: ${pwned[*]}"
augur_it_log "hostile name: delivered intact, nothing executed"

# ---- 4. migrate begin / restore: nothing on stdout --------------------------
# (A here-string, not a pipe: the hook closes stdin unread, and a writer
# in a pipeline would die of SIGPIPE.)
for op in "migrate begin" "restore begin"; do
    out=$(env AUGUR_HOOK_CONFIG="$AUGUR_IT_DIR/augur.conf" "$HOOK_BIN" hk $op - \
          <<<'<domain><name>x</name><metadata/></domain>')
    [[ -z $out ]] || augur_it_fail "hook printed on stdout for '$op': $out"
done
# Hooks it does not handle (start, attach) and bad argument counts still exit 0.
env AUGUR_HOOK_CONFIG="$AUGUR_IT_DIR/augur.conf" "$HOOK_BIN" hk attach begin - </dev/null ||
    augur_it_fail "hook failed on 'attach'"
"$HOOK_BIN" </dev/null 2>/dev/null || augur_it_fail "hook without arguments did not exit 0"
"$HOOK_BIN" --help started begin - </dev/null >"$AUGUR_IT_DIR/help.out" 2>/dev/null ||
    augur_it_fail "hook failed for a domain named --help"
[[ ! -s $AUGUR_IT_DIR/help.out ]] || augur_it_fail "a domain named --help made the hook print"

kill -0 "$AUGURD_PID" || augur_it_fail "augurd died"
augur_it_log "hook calls seen: $(sort "$CALLS" | uniq -c | tr -s ' \n' ' ')"
augur_it_log "PASS"
