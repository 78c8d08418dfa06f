#!/bin/bash
# deb.sh: the Debian package, built and installed for real.
#
# Copies the source tree (tracked files plus untracked, non-ignored ones:
# what the next commit would hold, minus build products) to a temp dir,
# runs `dpkg-buildpackage -us -uc -b` there (nocheck: the unit tests run in
# `make check` already; parallel=2), then on THIS machine:
#   1. checks the .deb's contents and control fields (dpkg -c, dpkg -I);
#   2. installs it (dpkg -i): binaries run, the hook link resolves to an
#      executable and exits 0 at once with no augurd, the config is a
#      conffile, the unit is installed but not enabled;
#   3. runs the installed augurd briefly (test:///default, a temp socket)
#      so that /var/lib/augur exists, as after real use;
#   4. removes it (dpkg -r): programs, hook and unit gone, conffile kept;
#   5. purges it (dpkg -P): conffile and /var/lib/augur gone.
# It prints its own duration: ~90 s on a 2-core machine, ~130 s
# beside the other integration tests, nearly all of it the package build
# (run at nice 19 so the real-guest tests beside it keep their timing).
#
# It refuses to touch a machine where augur is already installed (as a
# package or by `make install`): skip 77.  On failure the package is purged
# again and the build log kept.
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no debhelper/dpkg-dev, missing
# build dependencies, augur already installed).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SRCDIR=${AUGUR_TOP_SRCDIR:-$AUGUR_IT_SRCDIR}
WORK=
INSTALLED=0

finish() {
    local rc=$? secs
    trap - EXIT
    set +e
    if ((INSTALLED)); then
        dpkg -P augur >/dev/null 2>&1 || printf 'cleanup: dpkg -P augur failed\n'
    fi
    if [[ -n $WORK && -d $WORK ]]; then
        if ((rc == 0 || rc == 77)) && [[ ${AUGUR_IT_KEEP:-0} != 1 ]]; then
            rm -rf -- "$WORK"
        else
            printf 'kept %s for inspection (build.log, the .deb)\n' "$WORK"
        fi
    fi
    secs=$(augur_it_elapsed)
    printf 'deb.sh took %s s\n' "$secs"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ $(id -u) -eq 0 ]] || augur_it_skip "needs root: installs and removes the package on this machine"
for c in dpkg-buildpackage dh dpkg-checkbuilddeps dpkg-deb dpkg-query; do
    command -v "$c" >/dev/null 2>&1 ||
        augur_it_skip "'$c' missing (apt-get install --no-install-recommends debhelper dpkg-dev build-essential)"
done
[[ -f $SRCDIR/debian/control ]] || augur_it_skip "no debian/ in $SRCDIR"
if ! missing=$(cd -- "$SRCDIR" && dpkg-checkbuilddeps 2>&1); then
    augur_it_skip "build dependencies missing: ${missing#*: }"
fi
if dpkg-query -W -f='${Status}' augur 2>/dev/null | grep 'installed' >/dev/null; then
    augur_it_skip "the augur package is installed on this machine; not touching it"
fi
for f in /usr/sbin/augurd /usr/bin/virt-augur /usr/libexec/augur/augur-hook \
         /etc/libvirt/hooks/qemu.d/augur /etc/augur/augur.conf; do
    if [[ -e $f || -L $f ]] && ! dpkg -S "$f" >/dev/null 2>&1; then
        augur_it_skip "$f exists and belongs to no package (a make install?); not overwriting it"
    fi
done

# dpkg takes a lock; wait for another apt/dpkg on this machine instead of failing.
dpkg_locked() {
    local out i
    for i in $(seq 60); do
        if out=$(dpkg "$@" 2>&1); then
            printf '%s\n' "$out"
            return 0
        fi
        grep -qi 'lock' <<<"$out" || { printf '%s\n' "$out"; return 1; }
        sleep 2
    done
    printf '%s\n' "$out"
    return 1
}

# ---- build -------------------------------------------------------------------
WORK=$(mktemp -d /tmp/augur-deb.XXXXXX)
mkdir -- "$WORK/augur"
# Build products that are neither tracked nor ignored must not travel: a
# stale binary newer than its source would be packaged as is.
GENERATED='^(hooks/augur-hook|data/augur\.conf|data/augurd\.service|man/[^/]*\.[158]|debian/(augur|tmp|\.debhelper)/.*|debian/(files|debhelper-build-stamp|[^/]*\.substvars|[^/]*\.debhelper\.log)|[^/]*\.(deb|buildinfo|changes))$'
if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd -- "$SRCDIR" && git ls-files -co --exclude-standard) | grep -Ev "$GENERATED" |
        (cd -- "$SRCDIR" && tar -cf - --no-recursion -T -) | tar -xf - -C "$WORK/augur"
else
    cp -a -- "$SRCDIR/." "$WORK/augur/"
    if [[ -f $WORK/augur/Makefile ]]; then
        make -s -C "$WORK/augur" distclean >/dev/null 2>&1 || true
    fi
fi
augur_it_log "building the package in $WORK (log: $WORK/build.log)"
# nice: the other integration tests run real guests whose timing checks
# must not starve behind two compilers.
if ! (cd -- "$WORK/augur" &&
      DEB_BUILD_OPTIONS="nocheck parallel=2" nice -n 19 dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
    tail -n 40 -- "$WORK/build.log"
    augur_it_fail "dpkg-buildpackage failed"
fi
DEB=$(ls "$WORK"/augur_*.deb)
augur_it_log "built $(basename -- "$DEB") ($(du -k -- "$DEB" | cut -f1) KiB) after $(augur_it_elapsed) s"

# ---- 1. contents and control -------------------------------------------------
contents=$(dpkg -c "$DEB")
printf '%s\n' "$contents" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print "  " $0 }'
for p in ./usr/sbin/augurd ./usr/bin/virt-augur ./usr/libexec/augur/augur-hook \
         ./etc/augur/augur.conf ./lib/systemd/system/augurd.service \
         ./usr/share/bash-completion/completions/virt-augur \
         ./usr/share/man/man8/augurd.8.gz ./usr/share/man/man1/virt-augur.1.gz \
         ./usr/share/man/man5/augur.conf.5.gz ./usr/share/augur/grafana-dashboard.json; do
    grep -qE " $p\$" <<<"$contents" || augur_it_fail "the package lacks $p"
done
grep -qE ' \./etc/libvirt/hooks/qemu\.d/augur -> /usr/libexec/augur/augur-hook$' <<<"$contents" ||
    augur_it_fail "the package lacks the hook link qemu.d/augur -> /usr/libexec/augur/augur-hook"
info=$(dpkg -I "$DEB")
grep -qE '^ Depends:.*\blibvirt-daemon\b' <<<"$info" || augur_it_fail "Depends lacks libvirt-daemon"
grep -qE '^ Recommends:.*\blibvirt-daemon-system\b' <<<"$info" || augur_it_fail "Recommends lacks libvirt-daemon-system"
grep -qE '^ Depends:.*\blibvirt-daemon-system\b' <<<"$info" && augur_it_fail "libvirt-daemon-system must not be a hard dependency"
dpkg-deb -e "$DEB" "$WORK/control"
grep -qx '/etc/augur/augur.conf' "$WORK/control/conffiles" || augur_it_fail "augur.conf is not a conffile"
augur_it_log "$(grep -E '^ (Version|Depends|Recommends):' <<<"$info" | tr -s ' ' | tr '\n' ';')"

# ---- 2. install ----------------------------------------------------------------
# A config of our own for the installed programs: a socket nobody serves.
printf '[daemon]\nsocket=%s\n' "$WORK/s.sock" >"$WORK/none.conf"
INSTALLED=1
dpkg_locked -i "$DEB" >"$WORK/install.log" || { cat "$WORK/install.log"; augur_it_fail "dpkg -i failed"; }
dpkg-query -W -f='${Status}\n' augur | grep 'install ok installed' >/dev/null || augur_it_fail "not installed after dpkg -i"
augurd --version | grep '^augurd ' >/dev/null || augur_it_fail "installed augurd does not run"
virt-augur help | grep '^Commands:' >/dev/null || augur_it_fail "installed virt-augur does not run"
[[ -x /etc/libvirt/hooks/qemu.d/augur ]] || augur_it_fail "the hook link does not resolve to an executable"
t0=$EPOCHREALTIME
AUGUR_HOOK_CONFIG=$WORK/none.conf /etc/libvirt/hooks/qemu.d/augur vm started begin - </dev/null ||
    augur_it_fail "the installed hook did not exit 0"
ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
((ms < 1000)) || augur_it_fail "the installed hook took $ms ms with no augurd"
[[ ! -e /etc/systemd/system/multi-user.target.wants/augurd.service ]] ||
    augur_it_fail "augurd.service got enabled on install"
for m in augurd virt-augur augur.conf; do
    man -w "$m" >/dev/null 2>&1 || [[ ! -x /usr/bin/man ]] || augur_it_fail "man $m not found"
done
augur_it_log "installed: hook ran in $ms ms, unit not enabled"

# ---- 3. a short real run, so there is state to purge ---------------------------
augurd --foreground --connect test:///default --socket "$WORK/s.sock" --tick 0.5 \
    --config "$WORK/none.conf" >"$WORK/augurd.log" 2>&1 &
apid=$!
for _ in $(seq 50); do
    [[ -S $WORK/s.sock ]] && break
    sleep 0.1
done
virt-augur --socket "$WORK/s.sock" status >"$WORK/status.out" 2>&1 || true
kill -TERM "$apid" 2>/dev/null || true
wait "$apid" 2>/dev/null || true
grep -q 'Source: *augurd socket' "$WORK/status.out" ||
    augur_it_fail "installed virt-augur could not read installed augurd's status: $(cat "$WORK/status.out")"
[[ -f /var/lib/augur/augur.db ]] || augur_it_fail "augurd did not create /var/lib/augur/augur.db"

# ---- 4. remove -----------------------------------------------------------------
echo '# edited by deb.sh' >>/etc/augur/augur.conf
dpkg_locked -r augur >"$WORK/remove.log" || { cat "$WORK/remove.log"; augur_it_fail "dpkg -r failed"; }
for f in /usr/sbin/augurd /usr/bin/virt-augur /usr/libexec/augur/augur-hook \
         /lib/systemd/system/augurd.service; do
    [[ ! -e $f ]] || augur_it_fail "$f still there after dpkg -r"
done
[[ ! -e /etc/libvirt/hooks/qemu.d/augur && ! -L /etc/libvirt/hooks/qemu.d/augur ]] ||
    augur_it_fail "the hook link is still there after dpkg -r"
[[ -f /etc/augur/augur.conf ]] || augur_it_fail "dpkg -r removed the (edited) conffile"
dpkg-query -W -f='${Status}\n' augur | grep 'config-files' >/dev/null || augur_it_fail "not in config-files state after dpkg -r"
augur_it_log "removed: programs, hook and unit gone, conffile kept"

# ---- 5. purge ------------------------------------------------------------------
dpkg_locked -P augur >"$WORK/purge.log" || { cat "$WORK/purge.log"; augur_it_fail "dpkg -P failed"; }
INSTALLED=0
[[ ! -e /etc/augur/augur.conf ]] || augur_it_fail "/etc/augur/augur.conf still there after dpkg -P"
[[ ! -e /var/lib/augur ]] || augur_it_fail "/var/lib/augur still there after dpkg -P"
if dpkg-query -W augur >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' augur | grep 'not-installed' >/dev/null; then
    augur_it_fail "dpkg still knows augur after dpkg -P"
fi
augur_it_log "purged: conffile and history gone"
augur_it_log "PASS"
